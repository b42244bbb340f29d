"""The two raw entry points into the kernel: ``bpf(2)`` and ``perf_event_open(2)``.

Everything in purebpf that talks to the kernel goes through here, so there is one
place where ctypes meets the syscall ABI.
"""

from __future__ import annotations

import ctypes
import os

from purebpf.errors import syscall_error
from purebpf.sys.commands import Cmd

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# syscall numbers per architecture (asm-generic for arm64/riscv)
_NR = {
    "x86_64": {"bpf": 321, "perf_event_open": 298},
    "aarch64": {"bpf": 280, "perf_event_open": 241},
    "riscv64": {"bpf": 280, "perf_event_open": 241},
}
_ARCH = os.uname().machine  # not platform.machine(): importing platform costs start-up time
if _ARCH not in _NR:  # pragma: no cover - other machines
    raise ImportError(f"purebpf: unsupported architecture {_ARCH}; add its syscall numbers")
NR_BPF = _NR[_ARCH]["bpf"]
NR_PERF_EVENT_OPEN = _NR[_ARCH]["perf_event_open"]


def bpf_raw(cmd: int, attr: ctypes.Structure) -> tuple[int, int]:
    """Call ``bpf(cmd, &attr, sizeof attr)`` and return ``(result, errno)``.

    For callers that must inspect errno themselves (probing, ENOENT at the end of
    an iteration) without paying for an exception.
    """
    ret = _syscall(NR_BPF, ctypes.c_int(cmd), ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr)))
    if ret < 0:
        return ret, ctypes.get_errno()
    return ret, 0


def bpf(cmd: Cmd, attr: ctypes.Structure, what: str = "") -> int:
    """Call ``bpf(2)``; raise :class:`~purebpf.errors.SyscallError` on failure.

    EINTR and EAGAIN from BPF_PROG_LOAD are retried as libbpf does.
    """
    for _ in range(5):
        ret, err = bpf_raw(cmd, attr)
        if ret >= 0:
            return ret
        if err not in (4, 11):  # EINTR, EAGAIN
            break
    raise syscall_error(f"BPF_{Cmd(cmd).name}", err, what)


def perf_event_open(attr: ctypes.Structure, pid: int, cpu: int, group_fd: int = -1,
                    flags: int = 0, what: str = "") -> int:
    """Call ``perf_event_open(2)``; return the new fd or raise SyscallError."""
    ret = _syscall(NR_PERF_EVENT_OPEN, ctypes.byref(attr), ctypes.c_int(pid), ctypes.c_int(cpu),
                   ctypes.c_int(group_fd), ctypes.c_ulong(flags))
    if ret < 0:
        err = ctypes.get_errno()
        exc = syscall_error("perf_event_open", err, what)
        if err in (1, 13):  # EPERM, EACCES: the usual cause is the paranoid sysctl
            exc.args = (exc.args[0] + "; check /proc/sys/kernel/perf_event_paranoid",)
        raise exc
    return ret


def close_fd(fd: int) -> None:
    """Close ``fd``, ignoring an already-closed descriptor."""
    try:
        os.close(fd)
    except OSError:
        pass
