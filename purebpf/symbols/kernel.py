"""Kernel symbols from ``/proc/kallsyms``.

The file has ~200k lines.  Addresses are kept in one ``array`` and names in
one bytes blob, so a long-running agent holds a few MB rather than the ~20 MB
that 200k Python strings would cost; a name is decoded only when looked up.
"""

from __future__ import annotations

import bisect
from array import array
from functools import cache

KALLSYMS = "/proc/kallsyms"
# symbol types worth naming an address by: text, weak, data, bss, read-only data
_TYPES = frozenset("tTwWdDbBrR")
# an address further than this past the nearest symbol is not inside it
_MAX_DISTANCE = 1 << 20


class KernelSymbols:
    def __init__(self, path: str = KALLSYMS) -> None:
        self.path = path
        pairs: list[tuple[int, bytes]] = []
        try:
            with open(path, "rb") as f:
                for line in f:
                    parts = line.split(None, 3)
                    if len(parts) >= 3 and parts[1].decode() in _TYPES:
                        addr = int(parts[0], 16)
                        if addr:  # zero when kptr_restrict hides addresses
                            pairs.append((addr, parts[2]))
        except OSError:
            pass
        pairs.sort()
        self._addrs = array("Q", (a for a, _ in pairs))
        self._blob = b"\n".join(n for _, n in pairs)
        self._starts = array("I")
        pos = 0
        for _, name in pairs:
            self._starts.append(pos)
            pos += len(name) + 1

    def __len__(self) -> int:
        return len(self._addrs)

    def _name(self, i: int) -> str:
        start = self._starts[i]
        end = self._blob.find(b"\n", start)
        return self._blob[start: end if end >= 0 else len(self._blob)].decode()

    def lookup(self, addr: int, offset: bool = False) -> str | None:
        """The symbol ``addr`` falls in (``name+off`` with ``offset``), or None."""
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0 or addr - self._addrs[i] >= _MAX_DISTANCE:
            return None
        name = self._name(i)
        return f"{name}+{addr - self._addrs[i]}" if offset else name

    def address(self, name: str) -> int | None:
        """The lowest address of symbol ``name``, or None."""
        needle, blob = name.encode(), self._blob
        pos = blob.find(needle)
        while pos >= 0:
            end = pos + len(needle)
            if (pos == 0 or blob[pos - 1] == 0x0A) and blob[end:end + 1] in (b"\n", b""):
                return self._addrs[bisect.bisect_left(self._starts, pos)]
            pos = blob.find(needle, pos + 1)
        return None


def kernel_symbol_listed(name: str, path: str = KALLSYMS) -> bool:
    """Whether ``name`` is in kallsyms at all, per-CPU variables (type ``A``) included: the kernel
    resolves a program's ksym references there, so a missing one cannot be used."""
    needle = f" {name}\n".encode()
    try:
        with open(path, "rb") as f:
            return any(line.endswith(needle) for line in f)
    except OSError:
        return False


@cache
def kernel_symbols() -> KernelSymbols:
    """The running kernel's symbols, read once per process."""
    return KernelSymbols()
