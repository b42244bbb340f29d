"""``load_btf``: hand BTF to the kernel (BPF_BTF_LOAD) and own the resulting fd.

Maps and programs point at that fd (``btf_fd``, ``prog_btf_fd``) so the kernel
and tools such as ``bpftool map dump`` know their key, value and function types.
Needs Linux 4.18+ (BTF_LOAD); DECL_TAG/TYPE_TAG/ENUM64 need 5.16/5.17/6.0.
"""

from __future__ import annotations

import ctypes
import errno

from purebpf.errors import InvalidInputError, SyscallError
from purebpf.sys import FD, Cmd, bpf
from purebpf.sys.attrs import BtfLoadAttr

_LOG_SIZES = (1 << 16, 1 << 20, 1 << 24)


class BTFLoadError(InvalidInputError):
    """The kernel rejected the BTF; ``log`` is its full verifier log."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


def load_btf(data: bytes) -> FD:
    """Load ``data`` (e.g. ``BTFBuilder.to_bytes()``) and return the owning :class:`~purebpf.sys.FD`.

    The first attempt goes without a log (cheap); a rejection is retried with
    the kernel's log so the error says which type is wrong.
    """
    if not data:
        raise InvalidInputError("empty BTF: build some types before loading")
    blob = ctypes.create_string_buffer(bytes(data), len(data))
    attr = BtfLoadAttr(btf=ctypes.addressof(blob), btf_size=len(data))
    try:
        return FD(bpf(Cmd.BTF_LOAD, attr, "BTF"))
    except SyscallError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES, errno.ENOMEM):
            raise
    for size in _LOG_SIZES:
        log = ctypes.create_string_buffer(size)
        attr = BtfLoadAttr(btf=ctypes.addressof(blob), btf_size=len(data), btf_log_buf=ctypes.addressof(log),
                           btf_log_size=size, btf_log_level=1)
        try:
            return FD(bpf(Cmd.BTF_LOAD, attr, "BTF"))  # accepted on retry: the first failure was transient
        except SyscallError as exc:
            if exc.errno == errno.ENOSPC and size != _LOG_SIZES[-1]:
                continue
            text = log.value.decode("utf-8", "replace")
            lines = [line for line in text.splitlines() if line.strip()]
            reason = lines[-1] if lines else errno.errorcode.get(exc.errno, str(exc.errno))
            raise BTFLoadError(f"kernel rejected the BTF: {reason} (see .log for the kernel's full log)",
                               text) from None
    raise AssertionError("unreachable")
