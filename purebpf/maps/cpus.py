"""How many CPUs the kernel sizes per-CPU storage for.

Per-CPU maps return one value slot per *possible* CPU (not online: hot-pluggable
CPUs have slots too), so user space must read the same count the kernel uses,
``num_possible_cpus()``, published as a range list in sysfs.
"""

from __future__ import annotations

from functools import cache

from purebpf.errors import NotSupportedError

POSSIBLE = "/sys/devices/system/cpu/possible"


def parse_cpu_list(text: str) -> list[int]:
    """CPUs named by a sysfs list such as ``0-3,8,10-11``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


@cache
def possible_cpus() -> int:
    """Number of possible CPUs: the slot count of every per-CPU map value."""
    try:
        with open(POSSIBLE) as f:
            return len(parse_cpu_list(f.read()))
    except (OSError, ValueError) as exc:
        raise NotSupportedError(f"cannot read {POSSIBLE} ({exc}); per-CPU maps need sysfs mounted") from None
