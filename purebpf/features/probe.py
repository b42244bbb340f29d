"""Run every probe and assemble a :class:`FeatureReport`; answer single questions.

``probe_all`` takes well under a second on a current kernel (measured in
``FeatureReport.probe_seconds``) and its result is cached per boot.  The
``has_*`` questions use the cached report when there is one and otherwise
run just the probe they need, remembering the answer for the process.
"""

from __future__ import annotations

import platform
import time
from functools import cache

from purebpf.features import cache as report_cache
from purebpf.features.attach import probe_attach_kind, probe_attach_kinds
from purebpf.features.helpers import REPRESENTATIVE_TYPES, probe_helper, probe_helpers
from purebpf.features.maps import probe_map_type, probe_map_types
from purebpf.features.progs import probe_prog_type, probe_prog_types
from purebpf.features.report import Feature, FeatureReport
from purebpf.sys import MapType, ProgType

_report: FeatureReport | None = None


def probe_all(refresh: bool = False) -> FeatureReport:
    """Everything this kernel supports, found by trying.  ``refresh`` ignores
    (and rewrites) the per-boot cache."""
    global _report
    if not refresh:
        cached = _report or report_cache.load()
        if cached is not None:
            _report = cached
            return cached
    start = time.perf_counter()
    report = FeatureReport(kernel=platform.release(), boot_id=report_cache.boot_id())
    report.program_types = probe_prog_types()
    report.map_types = probe_map_types()
    report.helpers = {t.name.lower(): probe_helpers(t) for t in REPRESENTATIVE_TYPES
                      if report.program_types[t.name.lower()].available}
    report.attach_kinds = probe_attach_kinds()
    report.probe_seconds = round(time.perf_counter() - start, 4)
    report_cache.save(report)
    _report = report
    return report


def _known() -> FeatureReport | None:
    global _report
    if _report is None:
        _report = report_cache.load()
    return _report


def _section_answer(section: str, key: str) -> Feature | None:
    report = _known()
    return getattr(report, section).get(key) if report is not None else None


@cache
def prog_type(t: ProgType) -> Feature:
    """The :class:`Feature` for program type ``t`` (available + reason)."""
    return _section_answer("program_types", ProgType(t).name.lower()) or probe_prog_type(ProgType(t))


@cache
def map_type(t: MapType) -> Feature:
    return _section_answer("map_types", MapType(t).name.lower()) or probe_map_type(MapType(t))


@cache
def attach_kind(kind: str) -> Feature:
    return _section_answer("attach_kinds", kind) or probe_attach_kind(kind)


@cache
def helper(t: ProgType, name: str) -> Feature:
    full = name if name.startswith("bpf_") else f"bpf_{name}"
    report = _known()
    if report is not None and full in report.helpers.get(ProgType(t).name.lower(), {}):
        return report.helpers[ProgType(t).name.lower()][full]
    return probe_helper(ProgType(t), full)


def has_prog_type(t: ProgType) -> bool:
    return prog_type(t).available


def has_map_type(t: MapType) -> bool:
    return map_type(t).available


def has_helper(t: ProgType, name: str) -> bool:
    """Whether programs of type ``t`` may call helper ``name`` (``bpf_`` prefix optional)."""
    return helper(t, name).available


def has_attach_kind(kind: str) -> bool:
    """``kind`` is a key of :data:`purebpf.features.attach.PROBES` ("fentry", "tcx", ...)."""
    return attach_kind(kind).available


def forget() -> None:
    """Drop what this process remembers (the on-disk cache stays)."""
    global _report
    _report = None
    for fn in (prog_type, map_type, attach_kind, helper):
        fn.cache_clear()
