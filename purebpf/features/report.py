"""The result types of feature probing, and their JSON form (for the cache and ``--json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Feature:
    """One probed capability.  ``reason`` says why not, for every ``available=False``."""
    name: str
    available: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.available


@dataclass
class FeatureReport:
    """Everything :func:`purebpf.features.probe_all` found, by section.

    Keys are lower-case kernel names without prefix: ``"socket_filter"``,
    ``"hash"``, ``"bpf_map_lookup_elem"``, ``"fentry"``.  ``helpers`` maps a
    probed program type to the helpers it may call.
    """
    kernel: str
    boot_id: str
    program_types: dict[str, Feature] = field(default_factory=dict)
    map_types: dict[str, Feature] = field(default_factory=dict)
    helpers: dict[str, dict[str, Feature]] = field(default_factory=dict)
    attach_kinds: dict[str, Feature] = field(default_factory=dict)
    probe_seconds: float = 0.0
    from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReport:
        def section(d: dict[str, Any]) -> dict[str, Feature]:
            return {k: Feature(**v) for k, v in d.items()}

        return cls(
            kernel=data["kernel"], boot_id=data["boot_id"],
            program_types=section(data["program_types"]), map_types=section(data["map_types"]),
            helpers={pt: section(h) for pt, h in data["helpers"].items()},
            attach_kinds=section(data["attach_kinds"]), probe_seconds=data.get("probe_seconds", 0.0))
