"""``BPF_PROG_TEST_RUN``: run a loaded program once (or ``repeat`` times) on
input the caller supplies, without attaching it anywhere.

    result = prog.test_run(packet)        # XDP, SCHED_CLS, SOCKET_FILTER...
    result = prog.test_run(ctx=args)      # RAW_TRACEPOINT, SYSCALL

Which program types support it, and with which inputs, is the kernel's
choice: packet programs take ``data`` (at least an Ethernet header),
raw_tp/syscall programs take only ``ctx``, fentry/fexit programs take neither
and run the ``bpf_fentry_test*`` functions they attach to.  An unsupported
type answers ENOTSUPP, which becomes :class:`NotSupportedError`.
"""

from __future__ import annotations

import ctypes
import errno as _errno
from dataclasses import dataclass

from purebpf.errors import InvalidInputError, NotSupportedError, syscall_error
from purebpf.sys import Cmd, ProgType, bpf_raw
from purebpf.sys.attrs import ProgTestRunAttr
from purebpf.sys.constants import BPF_F_TEST_RUN_ON_CPU

ENOTSUPP = 524  # kernel-internal "not supported", seen by user space as 524
CTX_ONLY = frozenset({ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE, ProgType.SYSCALL})
CTX_IN_PLACE = frozenset({ProgType.SYSCALL})
# room for programs that grow the packet (bpf_xdp_adjust_head/tail, skb_change_tail)
DEFAULT_GROWTH = 4096


@dataclass
class TestRunResult:
    """What one test run returned.  ``duration_ns`` is the kernel's average per
    repetition; ``ctx_out`` is the ctx after the run (empty unless a ``ctx``
    was passed in and the program type gives it back)."""
    __test__ = False  # not a pytest test class despite the name

    retval: int
    data_out: bytes
    ctx_out: bytes
    duration_ns: int


def _buffer(data: bytes) -> ctypes.Array | None:
    return ctypes.create_string_buffer(data, len(data)) if data else None


def _addr(buf: ctypes.Array | None) -> int:
    return ctypes.addressof(buf) if buf is not None else 0


def test_run(prog_fd: int, prog_type: ProgType, label: str, data: bytes = b"", *, ctx: bytes | None = None,
             repeat: int = 1, data_out_size: int | None = None, flags: int = 0, cpu: int = 0) -> TestRunResult:
    """Run program ``prog_fd`` (named ``label`` in errors) on ``data`` / ``ctx``."""
    if repeat < 0 or repeat > 0xFFFFFFFF:
        raise InvalidInputError(f"test_run repeat must be between 0 and 2**32-1, not {repeat}")
    if prog_type in CTX_ONLY:
        return _run_ctx_only(prog_fd, prog_type, label, data, ctx, repeat, flags, cpu)
    if cpu and not flags & BPF_F_TEST_RUN_ON_CPU:
        flags |= BPF_F_TEST_RUN_ON_CPU
    data = bytes(data)
    out_size = (len(data) + DEFAULT_GROWTH if data else 0) if data_out_size is None else data_out_size
    data_in, data_out = _buffer(data), (ctypes.create_string_buffer(out_size) if out_size else None)
    ctx_in = _buffer(ctx) if ctx else None
    ctx_out = ctypes.create_string_buffer(len(ctx)) if ctx else None
    attr = ProgTestRunAttr(
        prog_fd=prog_fd, data_size_in=len(data), data_size_out=out_size, data_in=_addr(data_in),
        data_out=_addr(data_out), repeat=repeat, ctx_size_in=len(ctx or b""), ctx_size_out=len(ctx or b""),
        ctx_in=_addr(ctx_in), ctx_out=_addr(ctx_out), flags=flags, cpu=cpu)
    ret, err = bpf_raw(Cmd.PROG_TEST_RUN, attr)
    if ret < 0:
        raise _test_run_error(err, label, attr, out_size)
    return TestRunResult(
        retval=attr.retval,
        data_out=data_out.raw[:attr.data_size_out] if data_out is not None else b"",
        ctx_out=ctx_out.raw[:attr.ctx_size_out] if ctx_out is not None else b"",
        duration_ns=attr.duration)


def _run_ctx_only(prog_fd: int, prog_type: ProgType, label: str, data: bytes, ctx: bytes | None, repeat: int,
                  flags: int, cpu: int) -> TestRunResult:
    """raw_tracepoint and syscall programs run once on ``ctx`` alone; the kernel
    rejects data, repeat and an output ctx buffer (syscall programs update
    ``ctx`` in place instead)."""
    if data or repeat > 1:
        raise InvalidInputError(f"{label}: {prog_type.name.lower()} programs take only ctx= in a test run "
                                "(no data, repeat=1)")
    if cpu:
        flags |= BPF_F_TEST_RUN_ON_CPU
    ctx_buf = _buffer(ctx or b"")
    attr = ProgTestRunAttr(prog_fd=prog_fd, ctx_size_in=len(ctx or b""), ctx_in=_addr(ctx_buf), flags=flags, cpu=cpu)
    ret, err = bpf_raw(Cmd.PROG_TEST_RUN, attr)
    if ret < 0:
        raise _test_run_error(err, label, attr, 0)
    ctx_out = ctx_buf.raw if ctx_buf is not None and prog_type in CTX_IN_PLACE else b""
    return TestRunResult(retval=attr.retval, data_out=b"", ctx_out=ctx_out, duration_ns=attr.duration)


def _test_run_error(err: int, label: str, attr: ProgTestRunAttr, out_size: int) -> Exception:
    if err in (ENOTSUPP, _errno.EOPNOTSUPP):
        return NotSupportedError(
            f"BPF_PROG_TEST_RUN of {label} failed: this kernel cannot test-run this program type "
            "(supported: socket_filter, sched_cls/act, xdp, cgroup_skb, lwt, flow_dissector, sk_lookup, "
            "raw_tracepoint, syscall, fentry/fexit, struct_ops on recent kernels)")
    if err == _errno.ENOSPC and attr.data_size_out > out_size:
        return InvalidInputError(
            f"test run of {label} produced {attr.data_size_out} bytes of output but the buffer holds "
            f"{out_size}; pass data_out_size={attr.data_size_out}")
    exc = syscall_error("BPF_PROG_TEST_RUN", err, label)
    if err == _errno.EINVAL:
        exc.args = (exc.args[0] + "; packet programs need data of at least 14 bytes (an Ethernet header), "
                    "raw_tracepoint/syscall programs take ctx only, and some types reject repeat or cpu",)
    return exc
