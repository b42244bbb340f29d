"""Kernel addresses to function names, from ``/proc/kallsyms``.

The table has ~200k lines; keeping it in memory would cost tens of MB of the
agent's RSS.  Instead unknown addresses are resolved in batches by one
streaming pass over the file, and only the answers are kept.
"""

from __future__ import annotations

import bisect
import threading


class KernelSymbols:
    def __init__(self, path: str = "/proc/kallsyms", limit: int = 100_000) -> None:
        self.path = path
        self.limit = limit
        self.cache: dict[int, str] = {}
        self.lock = threading.Lock()

    def resolve(self, addrs: list[int] | set[int]) -> dict[int, str]:
        """{address: function name}; addresses outside any text symbol map to their hex form."""
        with self.lock:
            unknown = sorted({a for a in addrs if a not in self.cache})
            if unknown:
                self._scan(unknown)
            return {a: self.cache[a] for a in addrs}

    def _scan(self, unknown: list[int]) -> None:
        best: list[tuple[int, str]] = [(0, "")] * len(unknown)
        with open(self.path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[1] not in "tTwW":
                    continue
                addr = int(parts[0], 16)
                if addr == 0:  # addresses hidden (kptr_restrict)
                    continue
                # every unknown address at or above this symbol, where it beats the best so far
                i = bisect.bisect_left(unknown, addr)
                for j in range(i, len(unknown)):
                    if best[j][0] >= addr:
                        break
                    best[j] = (addr, parts[2])
        if len(self.cache) > self.limit:
            self.cache.clear()
        for a, (start, name) in zip(unknown, best, strict=True):
            self.cache[a] = name if start and a - start < (1 << 20) else hex(a)


KSYMS = KernelSymbols()
