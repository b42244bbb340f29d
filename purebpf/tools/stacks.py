"""Stack symbolization and folded output for profile and offcputime.

Kernel addresses resolve through /proc/kallsyms; user addresses through the
process's /proc/PID/maps and the ELF symbol tables of the mapped files (read
with pyelftools, cached per file).  A process that has exited, or an address
with no symbol, shows as ``[unknown]``, as in bcc.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from functools import cache

UNKNOWN = "[unknown]"


@dataclass
class SymbolIndex:
    """Sorted (start, name) pairs with optional ends, for address lookups."""
    starts: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def lookup(self, addr: int) -> str | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0 or (self.ends and self.ends[i] and addr >= self.ends[i]):
            return None
        return self.names[i]


@cache
def kernel_symbols() -> SymbolIndex:
    pairs = []
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                addr, kind, name = line.split()[:3]
                if kind in "tTwW" and int(addr, 16):
                    pairs.append((int(addr, 16), name))
    except OSError:
        pass
    pairs.sort()
    return SymbolIndex([a for a, _ in pairs], [n for _, n in pairs])


def kernel_symbol(addr: int) -> str:
    return kernel_symbols().lookup(addr) or UNKNOWN


@cache
def _elf_symbols(path: str, mtime_ns: int) -> tuple[SymbolIndex, tuple[tuple[int, int, int], ...]]:
    """Function symbols (by virtual address) and PT_LOAD segments (offset, vaddr, size) of one ELF file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    entries: dict[int, tuple[int, str]] = {}
    segments = []
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            segments = [(s["p_offset"], s["p_vaddr"], s["p_filesz"]) for s in elf.iter_segments()
                        if s["p_type"] == "PT_LOAD"]
            for name in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(name)
                if section is None or not hasattr(section, "iter_symbols"):
                    continue
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"] and sym.name:
                        entries.setdefault(sym["st_value"], (sym["st_size"], sym.name))
    except (OSError, ELFError, ValueError):
        pass
    ordered = sorted(entries.items())
    index = SymbolIndex([a for a, _ in ordered], [n for _, (_, n) in ordered],
                        [a + s if s else 0 for a, (s, _) in ordered])
    return index, tuple(segments)


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    offset: int
    path: str


class ProcessSymbols:
    """User-space symbols of one process, from the mappings it has now."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.maps: list[Mapping] = []
        try:
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    cols = line.split(maxsplit=5)
                    if len(cols) == 6 and "x" in cols[1] and cols[5].startswith("/"):
                        lo, hi = (int(x, 16) for x in cols[0].split("-"))
                        self.maps.append(Mapping(lo, hi, int(cols[2], 16), cols[5].strip()))
        except OSError:
            pass
        self.root = f"/proc/{pid}/root"

    def symbol(self, addr: int) -> str:
        for m in self.maps:
            if m.start <= addr < m.end:
                return self._in_file(m, addr) or f"[{os.path.basename(m.path)}+{addr - m.start + m.offset:#x}]"
        return UNKNOWN

    def _in_file(self, m: Mapping, addr: int) -> str | None:
        path = self.root + m.path if os.path.exists(self.root + m.path) else m.path
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return None
        index, segments = _elf_symbols(path, mtime)
        file_off = addr - m.start + m.offset
        for off, vaddr, size in segments:
            if off <= file_off < off + size:
                return index.lookup(file_off - off + vaddr)
        return None


class Symbolizer:
    """Caches one :class:`ProcessSymbols` per PID for a whole report."""

    def __init__(self) -> None:
        self._procs: dict[int, ProcessSymbols] = {}

    def user(self, pid: int, addr: int) -> str:
        procs = self._procs.get(pid)
        if procs is None:
            procs = self._procs[pid] = ProcessSymbols(pid)
        return procs.symbol(addr)

    def refresh(self, pid: int) -> None:
        """Re-read the mappings of ``pid`` while it lives, so its stacks can
        still be named after it exits (memleak -c reports at the end)."""
        procs = ProcessSymbols(pid)
        if procs.maps:
            self._procs[pid] = procs

    @staticmethod
    def kernel(addr: int) -> str:
        return kernel_symbol(addr)


def stack_frames(stackmap, stack_id: int) -> list[int]:
    """The addresses of one stack in a stack trace map, innermost first
    (none for a negative id: the stack was not taken or did not fit)."""
    import struct

    if stack_id < 0:
        return []
    raw = stackmap.lookup_raw(struct.pack("<I", stack_id))
    if raw is None:
        return []
    out = []
    for (ip,) in struct.iter_unpack("<Q", raw):
        if not ip:
            break
        out.append(ip)
    return out


def folded_line(comm: str, user: list[str], kernel: list[str], count: int, *, delimit: bool = False,
                annotate: bool = False) -> str:
    """One line of folded stacks (Brendan Gregg's format): frames from the
    outermost call in, separated by ';', then the count.  ``user`` and
    ``kernel`` are innermost-first, as stack maps return them."""
    frames = [comm.replace(";", "_").replace(" ", "_")]
    frames += [f.replace(";", ":") for f in reversed(user)]
    if delimit and user and kernel:
        frames.append("-")
    frames += [(f + "_[k]" if annotate else f) for f in reversed(kernel)]
    return ";".join(frames) + f" {count}"


@dataclass
class Sample:
    """One stack's total: frames innermost first, as symbolized."""
    pid: int
    comm: str
    user: list[str]
    kernel: list[str]
    count: int


def merge(stackmap, rows) -> list[Sample]:
    """Symbolize ``rows`` of (pid, tgid, comm bytes, kernel stack id, user
    stack id, count) and add up those whose stacks read the same; by count.
    User frames resolve in the tgid's address space."""
    sym = Symbolizer()
    merged: dict[tuple, int] = {}
    for pid, tgid, comm, kid, uid, count in rows:
        kernel = tuple(sym.kernel(ip) for ip in stack_frames(stackmap, kid))
        user = tuple(sym.user(tgid, ip) for ip in stack_frames(stackmap, uid))
        key = (pid, comm.split(b"\0", 1)[0].decode(errors="replace"), user, kernel)
        merged[key] = merged.get(key, 0) + count
    out = [Sample(pid, comm, list(user), list(kernel), n) for (pid, comm, user, kernel), n in merged.items()]
    out.sort(key=lambda r: r.count)
    return out


def report(out, samples: list[Sample], *, folded: bool, delimit: bool, annotate: bool,
           separator: bool) -> list[str]:
    """Print samples as folded lines or as bcc's multi-line stacks (kernel
    frames, ``--`` when ``separator`` and both stacks exist, user frames, then
    ``-  comm (pid)`` and the count); JSON records either way.  Returns the
    folded lines (for a flame graph)."""
    from purebpf.tools.common import cfmt

    lines = [folded_line(s.comm, s.user, s.kernel, s.count, delimit=delimit, annotate=annotate) for s in samples]
    for s, line in zip(samples, lines, strict=True):
        out.record({"pid": s.pid, "comm": s.comm, "user_stack": s.user, "kernel_stack": s.kernel, "count": s.count})
        if out.json:
            continue
        if folded:
            out.text(line)
            continue
        for frame in s.kernel:
            out.text(f"    {frame}")
        if separator and s.kernel and s.user:
            out.text("    --")
        for frame in s.user:
            out.text(f"    {frame}")
        out.text(cfmt("    %-16s %s (%d)", "-", s.comm, s.pid))
        out.text(f"        {s.count}\n")
    return lines
