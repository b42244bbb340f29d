"""One exception hierarchy for all of purebpf.

Callers catch :class:`BPFError` to handle anything purebpf raises; the command
line turns it into a single ``error: ...`` line with no traceback.  Each message
names the thing that went wrong and, where one exists, the fix.
"""

from __future__ import annotations

import errno as _errno
import os


class BPFError(Exception):
    """Base of every error purebpf raises on purpose."""


class InvalidInputError(BPFError, ValueError):
    """The caller passed something malformed (bad key size, unknown name...)."""


class NotFoundError(BPFError, LookupError):
    """A named thing does not exist: tracepoint, symbol, binary, BTF type, pin."""


class NotSupportedError(BPFError):
    """This kernel (or this build of it) lacks a feature the caller asked for."""


class SyscallError(BPFError):
    """A system call failed; ``errno`` keeps the kernel's answer for callers."""

    def __init__(self, message: str, errno: int = 0, op: str = "") -> None:
        super().__init__(message)
        self.errno = errno
        self.op = op


class VerifierError(SyscallError):
    """The verifier rejected a program.  ``log`` holds its full log."""

    def __init__(self, message: str, errno: int, log: str, source_line: str | None = None,
                 insns: object = None) -> None:
        super().__init__(message, errno, "BPF_PROG_LOAD")
        self.log = log
        self.source_line = source_line
        self.insns = insns  # the rejected program (instructions or bytecode): a listing can mark the failing one


_HINTS = {
    _errno.EPERM: "needs root, or CAP_BPF plus CAP_PERFMON/CAP_NET_ADMIN; also check the "
    "sysctl kernel.unprivileged_bpf_disabled and RLIMIT_MEMLOCK",
    _errno.EACCES: "the kernel refused access (verifier or LSM policy); run as root",
    _errno.E2BIG: "the request is larger than this kernel accepts (newer kernel field set?)",
    _errno.ENOENT: "no such object",
    _errno.EINVAL: "the kernel rejected an argument (unsupported flag or type on this kernel?)",
    _errno.ENOMEM: "out of memory for BPF objects (raise RLIMIT_MEMLOCK or reduce max_entries)",
    _errno.EBADF: "bad file descriptor (object already closed?)",
    _errno.EEXIST: "already exists",
    _errno.EBUSY: "busy: something is already attached there",
    _errno.EOPNOTSUPP: "not supported by this kernel or device",
    _errno.ENOTSUPP if hasattr(_errno, "ENOTSUPP") else 524: "not supported by this kernel",
}


_NAMES = {524: "ENOTSUPP", _errno.EOPNOTSUPP: "EOPNOTSUPP"}


def errno_name(err: int) -> str:
    """``EPERM`` for 1; also names the kernel-internal codes user space sees (ENOTSUPP is 524)."""
    return _NAMES.get(err) or _errno.errorcode.get(err) or f"errno {err}"


def errno_hint(err: int) -> str:
    """A human phrase for an errno, with the likely fix where we know it."""
    return _HINTS.get(err, os.strerror(err))


def syscall_error(op: str, err: int, what: str = "") -> SyscallError:
    """Build the exception for a failed syscall ``op`` with ``errno`` ``err``.

    ``what`` names the object being worked on, so the message reads
    ``BPF_MAP_CREATE of hash map 'counts' failed: EPERM (needs root, ...)``.
    """
    name = errno_name(err)
    target = f" of {what}" if what else ""
    return SyscallError(f"{op}{target} failed: {name} ({errno_hint(err)})", err, op)
