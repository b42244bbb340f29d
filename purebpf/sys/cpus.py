"""Which CPUs exist, from sysfs range lists (``0-3,8``).

Per-CPU maps have one value slot per *possible* CPU (hot-pluggable ones
included), while perf events are opened on each *online* CPU; both counts come
from here so every layer reads them the same way.
"""

from __future__ import annotations

from functools import cache

from purebpf.errors import NotSupportedError

POSSIBLE = "/sys/devices/system/cpu/possible"
ONLINE = "/sys/devices/system/cpu/online"


def parse_cpu_list(text: str) -> list[int]:
    """CPUs named by a sysfs list such as ``0-3,8,10-11``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def _read(path: str, why: str) -> list[int]:
    try:
        with open(path) as f:
            return parse_cpu_list(f.read())
    except (OSError, ValueError) as exc:
        raise NotSupportedError(f"cannot read {path} ({exc}); {why} need sysfs mounted") from None


@cache
def possible_cpus() -> int:
    """Number of possible CPUs: the slot count of every per-CPU map value."""
    return len(_read(POSSIBLE, "per-CPU maps"))


def online_cpus() -> list[int]:
    """The online CPUs (not cached: CPUs can go on and off line)."""
    return _read(ONLINE, "perf events")
