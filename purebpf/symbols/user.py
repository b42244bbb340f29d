"""User-space symbols: a process's executable mappings (``/proc/PID/maps``)
and the function symbols (``.symtab``, ``.dynsym``) of the files mapped.

A process that has exited, or an address with no symbol, shows as
``[unknown]`` (bcc's spelling); an address in a file without a symbol for it
shows as ``[file+0xoffset]``.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

from purebpf._memo import cache_per_file

UNKNOWN = "[unknown]"


@dataclass(frozen=True)
class ElfFunctions:
    """Function symbols of one ELF file, sorted by virtual address."""
    starts: tuple[int, ...]
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    segments: tuple[tuple[int, int, int], ...]  # PT_LOAD (file offset, vaddr, file size)

    def offset_to_vaddr(self, file_off: int) -> int | None:
        for off, vaddr, size in self.segments:
            if off <= file_off < off + size:
                return file_off - off + vaddr
        return None

    def lookup(self, vaddr: int, offset: bool = False) -> str | None:
        i = bisect.bisect_right(self.starts, vaddr) - 1
        if i < 0 or (self.sizes[i] and vaddr >= self.starts[i] + self.sizes[i]):
            return None
        return f"{self.names[i]}+{vaddr - self.starts[i]}" if offset else self.names[i]


def elf_functions(path: str) -> ElfFunctions | None:
    """The function table of ``path`` (None if it is not a readable ELF file),
    cached per file version."""
    try:
        return _elf_functions(path)
    except OSError:
        return None


@cache_per_file(64)
def _elf_functions(path: str) -> ElfFunctions | None:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    found: dict[int, tuple[str, int]] = {}
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            segments = tuple((s["p_offset"], s["p_vaddr"], s["p_filesz"]) for s in elf.iter_segments()
                             if s["p_type"] == "PT_LOAD")
            for section_name in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(section_name)
                if section is None or not hasattr(section, "iter_symbols"):
                    continue
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"] and sym.name:
                        found.setdefault(sym["st_value"], (sym.name, sym["st_size"]))
    except (OSError, ELFError, ValueError):
        return None
    items = sorted(found.items())
    return ElfFunctions(tuple(a for a, _ in items), tuple(n for _, (n, _) in items),
                        tuple(s for _, (_, s) in items), segments)


def build_id(path: str) -> str | None:
    """The GNU build id of ELF file ``path`` in hex (None without one)."""
    try:
        return _build_id(path)
    except OSError:
        return None


@cache_per_file(64)
def _build_id(path: str) -> str | None:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            for section in ELFFile(f).iter_sections():
                if section["sh_type"] != "SHT_NOTE":
                    continue
                for note in section.iter_notes():
                    if note["n_type"] == "NT_GNU_BUILD_ID":
                        return note["n_desc"]
    except (OSError, ELFError, ValueError):
        return None
    return None


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    offset: int
    path: str


def executable_mappings(pid: int) -> list[Mapping]:
    """The file-backed executable mappings of ``pid`` now (empty once it exited)."""
    maps = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                cols = line.split(maxsplit=5)
                if len(cols) == 6 and "x" in cols[1] and cols[5].startswith("/"):
                    lo, hi = (int(x, 16) for x in cols[0].split("-"))
                    maps.append(Mapping(lo, hi, int(cols[2], 16), cols[5].strip()))
    except OSError:
        pass
    return maps


class ProcessSymbols:
    """User-space symbols of one process, from the mappings it has when created."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.maps = executable_mappings(pid)
        self.root = f"/proc/{pid}/root"

    def lookup(self, addr: int, offset: bool = False) -> str | None:
        """The function ``addr`` is in, or None."""
        m = self._mapping(addr)
        return self._in_file(m, addr, offset) if m is not None else None

    def symbol(self, addr: int) -> str:
        """Like :meth:`lookup`, with bcc's placeholders instead of None."""
        m = self._mapping(addr)
        if m is None:
            return UNKNOWN
        return self._in_file(m, addr, False) or f"[{os.path.basename(m.path)}+{addr - m.start + m.offset:#x}]"

    def module(self, addr: int) -> str | None:
        """The file ``addr`` is mapped from (perf's stack format names it)."""
        m = self._mapping(addr)
        return m.path if m is not None else None

    def build_id_frame(self, addr: int) -> str | None:
        """``BUILDID 0xOFFSET``: the frame as a build id and a file offset, named without symbols."""
        m = self._mapping(addr)
        if m is None:
            return None
        path = self.root + m.path if os.path.exists(self.root + m.path) else m.path
        bid = build_id(path)
        return f"{bid} {addr - m.start + m.offset:#x}" if bid else None

    def source_frames(self, addr: int) -> list:
        """The DWARF source frames at ``addr`` (:class:`purebpf.symbols.dwarf.Frame`, innermost first:
        calls inlined there, then the function's own line); empty without debug information."""
        from purebpf.symbols.dwarf import debug_info

        m = self._mapping(addr)
        if m is None:
            return []
        path = self.root + m.path if os.path.exists(self.root + m.path) else m.path
        table = elf_functions(path)
        vaddr = table.offset_to_vaddr(addr - m.start + m.offset) if table is not None else None
        info = debug_info(path) if vaddr is not None else None
        return info.frames(vaddr) if info is not None else []

    def _mapping(self, addr: int) -> Mapping | None:
        for m in self.maps:
            if m.start <= addr < m.end:
                return m
        return None

    def _in_file(self, m: Mapping, addr: int, offset: bool) -> str | None:
        # the process may live in another mount namespace: read its file through /proc/PID/root
        path = self.root + m.path if os.path.exists(self.root + m.path) else m.path
        table = elf_functions(path)
        if table is None:
            return None
        vaddr = table.offset_to_vaddr(addr - m.start + m.offset)
        return table.lookup(vaddr, offset) if vaddr is not None else None


class Symbolizer:
    """Names for the frames of many stacks: one :class:`ProcessSymbols` per pid."""

    def __init__(self) -> None:
        self._procs: dict[int, ProcessSymbols] = {}

    def user(self, pid: int, addr: int) -> str:
        procs = self._procs.get(pid)
        if procs is None:
            procs = self._procs[pid] = ProcessSymbols(pid)
        return procs.symbol(addr)

    def refresh(self, pid: int) -> None:
        """Re-read the mappings of ``pid`` while it lives, so its stacks can
        still be named after it exits (reports printed at the end)."""
        procs = ProcessSymbols(pid)
        if procs.maps:
            self._procs[pid] = procs

    @staticmethod
    def kernel(addr: int) -> str:
        from purebpf.symbols.kernel import kernel_symbols

        return kernel_symbols().lookup(addr) or UNKNOWN
