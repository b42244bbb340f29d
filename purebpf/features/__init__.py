"""What this kernel supports, found by trying: program types, map types,
helpers per program type, attach kinds.

    from purebpf import features
    if not features.has_attach_kind("fentry"):
        print(features.attach_kind("fentry").reason)
    report = features.probe_all()          # cached per boot

Each answer is a :class:`Feature` whose ``reason`` explains every "no" with
the errno the kernel gave and what it means.
"""

from purebpf.features.attach import PROBES as ATTACH_KINDS
from purebpf.features.helpers import REPRESENTATIVE_TYPES
from purebpf.features.probe import (
    attach_kind,
    forget,
    has_attach_kind,
    has_helper,
    has_map_type,
    has_prog_type,
    helper,
    map_type,
    probe_all,
    prog_type,
)
from purebpf.features.report import Feature, FeatureReport

__all__ = [
    "ATTACH_KINDS", "REPRESENTATIVE_TYPES", "Feature", "FeatureReport", "attach_kind", "forget", "has_attach_kind",
    "has_helper", "has_map_type", "has_prog_type", "helper", "map_type", "prog_type", "probe_all",
]
