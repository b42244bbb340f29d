"""Kprobe links: a KPROBE program on a kernel function's entry (kprobe) or
return (kretprobe).

    link = Kprobe(prog, "do_unlinkat")
    link = Kprobe(prog, "do_unlinkat", retprobe=True)

Needs Linux 4.17 built with CONFIG_KPROBES and CONFIG_KPROBE_EVENTS (the
kprobe perf PMU; a bpf_link from 5.15).  Any non-inlined, non-blacklisted
function may be probed: see ``<tracefs>/available_filter_functions``.  The
program's ctx is ``struct pt_regs``.  Kernels without kprobes get a
NotSupportedError naming the alternatives (tracepoints, fentry).  Closing
the link removes the probe.
"""

from __future__ import annotations

import ctypes
import errno

from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError, SyscallError
from purebpf.links.attach import require_program
from purebpf.links.perf_attach import PerfEventLink
from purebpf.links.validate import require_name
from purebpf.programs import Program
from purebpf.sys import FD, ProgType
from purebpf.sys.perf import open_event, pmu_retprobe_bit, pmu_type


class Kprobe(PerfEventLink):
    kind = "kprobe"

    def __init__(self, prog: Program, symbol: str | int, *, offset: int = 0, retprobe: bool = False,
                 cookie: int = 0) -> None:
        """``symbol`` is a function's name, or (an int) a kernel address to probe."""
        kind = "kretprobe" if retprobe else "kprobe"
        require_program(prog, [ProgType.KPROBE], f"a {kind}")
        address = symbol if isinstance(symbol, int) and not isinstance(symbol, bool) else None
        if address is None:
            require_name(symbol, f"{kind} function")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(f"invalid {kind} offset {offset!r}: expected an int >= 0")
        if retprobe and offset:
            raise InvalidInputError(f"a kretprobe fires at the function's return: it takes no offset "
                                    f"(got {symbol}+{offset:#x})")
        try:
            pmu = pmu_type("kprobe")
        except NotSupportedError as exc:
            raise NotSupportedError(f"cannot attach {kind} to {symbol}: kprobes are not available on this "
                                    f"kernel ({exc}); use a tracepoint, raw tracepoint or fentry instead") from None
        what = f"{kind} {symbol}" + (f"+{offset:#x}" if offset else "")
        if address is not None:  # the kernel reads an address as config2 when config1 (the name) is NULL
            offset, symbol, what = address + offset, f"{address:#x}", f"{kind} at {address + offset:#x}"
        name_buf = ctypes.create_string_buffer(symbol.encode())  # config1: char * read during the call
        name_ptr = ctypes.addressof(name_buf) if address is None else 0
        try:
            perf_fd = FD(open_event(pmu, pmu_retprobe_bit("kprobe") if retprobe else 0, pid=-1, cpu=0,
                                    sample_period=1, config1=name_ptr, config2=offset,
                                    what=what))
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                raise NotFoundError(f"cannot set {what}: the kernel has no function '{symbol}' (inlined or "
                                    "renamed? see /proc/kallsyms)") from None
            if exc.errno == errno.EINVAL:
                exc.args = (exc.args[0] + f"; '{symbol}' may be blacklisted for kprobes, or the offset "
                            "is not an instruction boundary",)
            raise
        super().__init__(prog, perf_fd, what=what, cookie=cookie)
        self.kind = kind
        self.symbol, self.offset, self.retprobe = symbol, offset, retprobe

    def __repr__(self) -> str:
        return f"<Kprobe {self.kind} {self.symbol} {'closed' if self.closed else 'attached'}>"
