"""Raw tracepoint links: a RAW_TRACEPOINT program on a kernel tracepoint,
reading the tracepoint's raw arguments instead of its formatted record.

    link = RawTracepoint(prog, "sys_enter")   # ctx: u64 args[] = (struct pt_regs *, long id)

Needs Linux 4.17; the result is a bpf_link from 5.7 on (a plain fd before);
a cookie needs 6.10.  Cheaper than a :class:`Tracepoint` (no record is
built), but the arguments are whatever the kernel passes, so they may change
between versions.  Closing the link detaches.

:func:`raw_tracepoint_open` is also how BTF-typed programs (tp_btf, fentry,
fexit, LSM) attach: with no name, the target is the one the program was
loaded for.
"""

from __future__ import annotations

import ctypes
import errno

from purebpf.errors import NotFoundError, syscall_error
from purebpf.links.attach import require_program
from purebpf.links.link import Link
from purebpf.links.validate import require_name
from purebpf.programs import Program
from purebpf.sys import FD, Cmd, ProgType, bpf_raw
from purebpf.sys.attrs import RawTracepointOpenAttr


def raw_tracepoint_open(prog: Program, name: str | None, what: str, *, cookie: int = 0) -> FD:
    """RAW_TRACEPOINT_OPEN: attach ``prog`` to raw tracepoint ``name`` (or, when
    None, to the BTF target it was loaded for) and return the link fd."""
    buf = ctypes.create_string_buffer(name.encode()) if name is not None else None
    attr = RawTracepointOpenAttr(name=ctypes.addressof(buf) if buf is not None else 0,
                                 prog_fd=prog.fd, cookie=cookie)
    ret, err = bpf_raw(Cmd.RAW_TRACEPOINT_OPEN, attr)
    if ret >= 0:
        return FD(ret)
    if err == errno.ENOENT and name is not None:
        raise NotFoundError(f"raw tracepoint '{name}' does not exist on this kernel "
                            "(see `purebpf trace -l 'rawtracepoint:*'` or available_events in tracefs)")
    exc = syscall_error("BPF_RAW_TRACEPOINT_OPEN", err, what)
    if err == errno.EINVAL and cookie:
        exc.args = (exc.args[0] + "; raw tracepoint cookies need Linux 6.10",)
    raise exc


class RawTracepoint(Link):
    kind = "raw tracepoint"

    def __init__(self, prog: Program, name: str, *, cookie: int = 0) -> None:
        require_program(prog, [ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE], "a raw tracepoint")
        require_name(name, "raw tracepoint name")
        super().__init__(raw_tracepoint_open(prog, name, f"raw tracepoint {name}", cookie=cookie))
        self.name = name

    def __repr__(self) -> str:
        return f"<RawTracepoint {self.name} {'closed' if self.closed else 'attached'}>"
