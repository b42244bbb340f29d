"""User-space addresses of a process to ``function`` names, through
``/proc/PID/maps`` and the mapped ELF files' symbol tables."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache

from purebpf.errors import BPFError


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    offset: int
    path: str


def mappings(pid: int) -> list[Mapping]:
    out = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split(maxsplit=5)
                if len(parts) < 6 or "x" not in parts[1] or not parts[5].startswith("/"):
                    continue
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append(Mapping(lo, hi, int(parts[2], 16), parts[5].strip()))
    except OSError:
        return []
    return out


@lru_cache(maxsize=64)
def _functions(path: str) -> tuple[tuple[int, ...], tuple[str, ...], tuple]:
    """Sorted function start addresses and names of one ELF file, plus its PT_LOAD segments."""
    from purebpf.links.symbols import symbol_table
    try:
        table = symbol_table(path)
    except (BPFError, OSError):
        return (), (), ()
    pairs = sorted((value, name) for name, (value, defined) in table.symbols.items() if defined)
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), table.segments


def symbolize(pid: int, addrs: list[int], maps: list[Mapping] | None = None) -> list[str]:
    maps = mappings(pid) if maps is None else maps
    out = []
    for addr in addrs:
        m = next((m for m in maps if m.start <= addr < m.end), None)
        if m is None:
            out.append("[unknown]")
            continue
        starts, names, segments = _functions(m.path)
        offset = addr - m.start + m.offset
        vaddr = next((offset - s.offset + s.vaddr for s in segments if s.offset <= offset < s.offset + s.memsz),
                     None)
        i = bisect.bisect_right(starts, vaddr) - 1 if vaddr is not None else -1
        out.append(names[i] if i >= 0 else f"[{m.path.rsplit('/', 1)[-1]}]")
    return out
