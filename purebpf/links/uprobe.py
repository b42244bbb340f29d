"""Uprobe links: a KPROBE-type program on a user-space function's entry
(uprobe) or return (uretprobe), in a binary or shared library.

    link = Uprobe(prog, "/usr/bin/bash", "readline")
    link = Uprobe(prog, "c", "malloc", pid=1234, retprobe=True)   # libc, one process

Needs Linux 4.17 (the uprobe perf PMU; a bpf_link from 5.15).  The probe is
set on the file (inode + offset), so it fires in every process that maps it
unless ``pid`` restricts it.  The program's ctx is ``struct pt_regs``: on
x86_64 the first arguments are di (offset 112) and si (104), the return
value ax (80).  Closing the link removes the probe.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links.attach import require_program
from purebpf.links.perf_attach import PerfEventLink
from purebpf.links.symbols import attach_path, resolve_binary, symbol_offset
from purebpf.programs import Program
from purebpf.sys import FD, ProgType
from purebpf.sys.perf import open_event, pmu_retprobe_bit, pmu_type


class Uprobe(PerfEventLink):
    kind = "uprobe"

    def __init__(self, prog: Program, binary: str, symbol: str | int, *, pid: int | None = None,
                 retprobe: bool = False, offset: int = 0, cookie: int = 0) -> None:
        """``binary`` is a path or a library/program name ("c", "libc.so.6",
        "bash"); ``symbol`` a function name, ``"name+0x10"`` or a virtual
        address (int); ``offset`` is added to the symbol's; ``pid`` restricts
        the probe to one process (and is searched first for ``binary``)."""
        kind = "uretprobe" if retprobe else "uprobe"
        require_program(prog, [ProgType.KPROBE], f"a {kind}")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(f"invalid {kind} offset {offset!r}: expected an int >= 0")
        if pid is not None and (not isinstance(pid, int) or pid <= 0):
            raise InvalidInputError(f"invalid pid {pid!r}: expected a positive process id, or None for all")
        if pid is not None and not Path(f"/proc/{pid}").exists():
            raise NotFoundError(f"no process with pid {pid}")
        path = resolve_binary(binary, pid)
        file_offset = symbol_offset(path, symbol, offset)
        label = symbol if isinstance(symbol, str) else f"{symbol:#x}"
        what = f"{kind} {path}:{label}" + (f"+{offset:#x}" if offset else "")
        pmu = pmu_type("uprobe")
        path_buf = ctypes.create_string_buffer(attach_path(path).encode())  # config1: char * read during the call
        perf_fd = FD(open_event(pmu, pmu_retprobe_bit("uprobe") if retprobe else 0,
                                pid=pid if pid is not None else -1, cpu=0 if pid is None else -1,
                                sample_period=1, config1=ctypes.addressof(path_buf), config2=file_offset,
                                what=what))
        super().__init__(prog, perf_fd, what=what, cookie=cookie)
        self.kind = kind
        self.path, self.symbol, self.offset, self.pid = path, symbol, file_offset, pid
        self.retprobe = retprobe

    def __repr__(self) -> str:
        state = "closed" if self.closed else "attached"
        return f"<Uprobe {self.kind} {self.path}:{self.symbol} offset={self.offset:#x} {state}>"
