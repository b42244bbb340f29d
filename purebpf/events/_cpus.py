"""Which CPUs are online: a perf buffer needs one event per online CPU
(per-CPU maps size by *possible* CPUs instead: :mod:`purebpf.maps.cpus`)."""

from __future__ import annotations

from pathlib import Path

from purebpf.errors import NotSupportedError
from purebpf.maps.cpus import parse_cpu_list

ONLINE = Path("/sys/devices/system/cpu/online")


def online_cpus() -> list[int]:
    try:
        return parse_cpu_list(ONLINE.read_text())
    except (OSError, ValueError) as exc:
        raise NotSupportedError(f"cannot read the online CPU list from {ONLINE} ({exc}); "
                                "perf buffers need sysfs mounted") from None
