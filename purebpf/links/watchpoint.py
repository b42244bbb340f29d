"""Watchpoint links: a PERF_EVENT program run when the CPU reads, writes or
executes one address, through a hardware breakpoint (x86 debug registers).

    link = Watchpoint(prog, 0x10000000, 8, "w", pid=1234)   # a write in process 1234
    link = Watchpoint(prog, kernel_address, 4, "rw")        # any access, on every CPU

A user-space address means nothing without a process, so it needs ``pid``:
one breakpoint per thread the process has now, each inherited by the threads
and children created later.  A kernel address is watched on every online CPU.
The CPU has four debug registers per thread, so a handful of watchpoints at
most; the kernel refuses more with ENOSPC.  The program's ctx is
``struct bpf_perf_event_data`` (the registers at the access).
"""

from __future__ import annotations

import errno
import os

from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError, SyscallError
from purebpf.links.attach import require_program
from purebpf.links.perf_attach import PerfEventGroup
from purebpf.programs import Program
from purebpf.sys import ProgType
from purebpf.sys.cpus import online_cpus
from purebpf.sys.perf import FLAG_INHERIT, PerfType, open_event

# HW_BREAKPOINT_R/W/X of the perf ABI
ACCESS_BITS = {"r": 1, "w": 2, "x": 4}
LENGTHS = (1, 2, 4, 8)
KERNEL_START = 0xFFFF_8000_0000_0000  # x86_64: addresses from here up are the kernel's
EXEC_LENGTH = 8  # the kernel wants sizeof(long) for an execute breakpoint


def access_bits(mode: str) -> int:
    """``"rw"`` -> R|W; an execute breakpoint cannot also watch data."""
    if not mode or any(c not in ACCESS_BITS for c in mode) or len(set(mode)) != len(mode):
        raise InvalidInputError(f"invalid watchpoint mode {mode!r}: use r, w, x or a combination such as rw")
    if "x" in mode and mode != "x":
        raise InvalidInputError(f"invalid watchpoint mode {mode!r}: x (execute) cannot be combined with r or w")
    if mode == "r":  # x86 debug registers watch writes or reads+writes, never reads alone
        raise NotSupportedError("watchpoint mode 'r' alone is not supported by x86 hardware: use 'rw'")
    bits = 0
    for c in mode:
        bits |= ACCESS_BITS[c]
    return bits


class Watchpoint(PerfEventGroup):
    """Hardware breakpoints with the program attached; :attr:`links` holds one
    :class:`PerfEventLink` per watched thread (or per CPU for a kernel address)."""

    kind = "watchpoint"

    def __init__(self, prog: Program, address: int, length: int, mode: str = "w", *,
                 pid: int | None = None, cookie: int = 0) -> None:
        require_program(prog, [ProgType.PERF_EVENT], "a watchpoint")
        bits = access_bits(mode)
        if length not in LENGTHS:
            raise InvalidInputError(f"invalid watchpoint length {length}: use one of 1, 2, 4, 8")
        if not isinstance(address, int) or address <= 0:
            raise InvalidInputError(f"invalid watchpoint address {address!r}: expected a positive int")
        if address % length:
            raise InvalidInputError(f"watchpoint address {address:#x} is not aligned to its length {length}")
        kernel = address >= KERNEL_START
        if not kernel and pid is None:
            raise InvalidInputError(f"watchpoint on user address {address:#x} needs a process: give pid")
        self.address, self.length, self.mode, self.pid = address, length, mode, pid
        self.what = f"watchpoint {address:#x}:{length}:{mode}"
        super().__init__()
        targets = [(-1, cpu) for cpu in online_cpus()] if kernel else [(tid, -1) for tid in _threads(pid)]

        def events():
            for tid, cpu in targets:
                what = f"{self.what} " + (f"on CPU {cpu}" if cpu >= 0 else f"in thread {tid}")
                yield _open(address, EXEC_LENGTH if mode == "x" else length, bits, tid, cpu, what), what, cookie

        self._attach_each(prog, events())

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"attached on {len(self.links)} event(s)"
        return f"<Watchpoint {self.address:#x}:{self.length}:{self.mode} {state}>"


def _threads(pid: int | None) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except (FileNotFoundError, ValueError, TypeError):
        raise NotFoundError(f"no process with pid {pid}") from None


def _open(address: int, length: int, bits: int, tid: int, cpu: int, what: str) -> int:
    try:
        return open_event(PerfType.BREAKPOINT, 0, pid=tid, cpu=cpu, sample_period=1, config1=address,
                          config2=length, bp_type=bits, flags=FLAG_INHERIT if tid != -1 else 0, what=what)
    except SyscallError as exc:
        if exc.errno == errno.ENOSPC:
            raise NotSupportedError(f"{what}: no free hardware breakpoint (the CPU has 4 debug registers; "
                                    "other watchpoints or debuggers hold them)") from None
        if exc.errno in (errno.ENOENT, errno.EOPNOTSUPP, errno.ENODEV):
            raise NotSupportedError(f"{what}: this machine has no hardware breakpoints") from None
        raise
