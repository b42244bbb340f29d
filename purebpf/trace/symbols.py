"""Address <-> symbol name, for ``ksym``/``kaddr``/``kstack`` (from
/proc/kallsyms) and ``usym``/``ustack`` (from the ELF symbols of the files a
process maps).  Tables are read once per run, when first needed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache


@dataclass
class KernelSymbols:
    addrs: list[int]
    names: list[str]
    by_name: dict[str, int]

    def address(self, name: str) -> int | None:
        return self.by_name.get(name)

    def lookup(self, addr: int, offset: bool = False) -> str | None:
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        name = self.names[i]
        return f"{name}+{addr - self.addrs[i]}" if offset else name


@lru_cache(maxsize=1)
def kernel_symbols() -> KernelSymbols:
    pairs = []
    by_name: dict[str, int] = {}
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                addr = int(parts[0], 16)
                if parts[1] in "tTwW" or parts[1] in "dDbBrR":
                    pairs.append((addr, parts[2]))
                    by_name.setdefault(parts[2], addr)
    except OSError:
        pass
    pairs.sort()
    return KernelSymbols([a for a, _ in pairs], [n for _, n in pairs], by_name)


@dataclass
class _Mapping:
    start: int
    end: int
    offset: int
    path: str


class UserSymbols:
    """Symbolises addresses of one process through its memory maps."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.maps: list[_Mapping] = []
        try:
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 6 or not parts[5].startswith("/"):
                        continue
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    self.maps.append(_Mapping(lo, hi, int(parts[2], 16), parts[5]))
        except OSError:
            pass

    def lookup(self, addr: int, offset: bool = False) -> str | None:
        for m in self.maps:
            if m.start <= addr < m.end:
                table = _elf_functions(m.path)
                if table is None:
                    return None
                file_off = addr - m.start + m.offset
                vaddr = table.offset_to_vaddr(file_off)
                return table.lookup(vaddr, offset)
        return None


@dataclass
class _ElfFunctions:
    addrs: list[int]
    names: list[str]
    sizes: list[int]
    segments: list[tuple[int, int, int]]  # (vaddr, offset, filesz)

    def offset_to_vaddr(self, off: int) -> int:
        for vaddr, seg_off, size in self.segments:
            if seg_off <= off < seg_off + size:
                return off - seg_off + vaddr
        return off

    def lookup(self, vaddr: int, offset: bool) -> str | None:
        i = bisect.bisect_right(self.addrs, vaddr) - 1
        if i < 0 or (self.sizes[i] and vaddr >= self.addrs[i] + self.sizes[i]):
            return None
        name = self.names[i]
        return f"{name}+{vaddr - self.addrs[i]}" if offset else name


@lru_cache(maxsize=32)
def _elf_functions(path: str) -> _ElfFunctions | None:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            segments = [(s["p_vaddr"], s["p_offset"], s["p_filesz"]) for s in elf.iter_segments()
                        if s["p_type"] == "PT_LOAD"]
            found: dict[int, tuple[str, int]] = {}
            for sec_name in (".symtab", ".dynsym"):
                sec = elf.get_section_by_name(sec_name)
                if sec is None or not hasattr(sec, "iter_symbols"):
                    continue
                for sym in sec.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"] and sym.name:
                        found.setdefault(sym["st_value"], (sym.name, sym["st_size"]))
    except (OSError, ELFError):
        return None
    items = sorted(found.items())
    return _ElfFunctions([a for a, _ in items], [n for _, (n, _) in items], [s for _, (_, s) in items], segments)
