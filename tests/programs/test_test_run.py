"""BPF_PROG_TEST_RUN on the program types that support it."""

from __future__ import annotations

import struct

import pytest

from purebpf.asm import R0, R1, R2, R3, R4, JmpOp, add, exit_, jmp, ldx, mov, st, stx
from purebpf.errors import InvalidInputError, NotSupportedError, SyscallError
from purebpf.programs import Program, ProgType
from purebpf.sys.constants import BPF_F_TEST_RUN_ON_CPU

PACKET = bytes(range(64))


def test_socket_filter_returns_its_value():
    with Program(ProgType.SOCKET_FILTER, [mov(R0, 42), exit_()]) as prog:
        result = prog.test_run(PACKET)
        assert result.retval == 42
        assert result.data_out[14:] == PACKET[14:]  # the kernel parses (and may rewrite) the L2 header
        assert result.ctx_out == b""


def test_xdp_output_reflects_writes_to_the_packet():
    # r2 = ctx->data; if (r2 + 1 <= ctx->data_end) *(u8 *)r2 = 0xAB; return XDP_TX
    insns = [ldx(4, R2, R1, 0), ldx(4, R3, R1, 4), mov(R4, R2), add(R4, 1), jmp(JmpOp.JGT, R4, R3, 1),
             st(1, R2, 0, 0xAB), mov(R0, 3), exit_()]
    with Program(ProgType.XDP, insns) as prog:
        result = prog.test_run(PACKET, repeat=1000)
        assert result.retval == 3
        assert result.data_out[0] == 0xAB and result.data_out[1:] == PACKET[1:]
        assert result.duration_ns >= 0


def test_sched_cls_runs_on_a_packet():
    with Program(ProgType.SCHED_CLS, [mov(R0, 2), exit_()]) as prog:
        assert prog.test_run(PACKET).retval == 2


def test_raw_tracepoint_takes_ctx_and_a_cpu():
    # return ctx[0] (the first tracepoint argument)
    with Program(ProgType.RAW_TRACEPOINT, [ldx(8, R0, R1, 0), exit_()]) as prog:
        args = struct.pack("<QQ", 1234, 5)
        assert prog.test_run(ctx=args).retval == 1234
        assert prog.test_run(ctx=args, cpu=0, flags=BPF_F_TEST_RUN_ON_CPU).retval == 1234


def test_syscall_program_writes_its_ctx_back():
    # *(u32 *)ctx = 99; return 0  (syscall programs may write their ctx, from a register before 6.x)
    insns = [mov(R2, 99), stx(4, R1, 0, R2), mov(R0, 0), exit_()]
    with Program(ProgType.SYSCALL, insns, flags=1 << 4) as prog:  # BPF_F_SLEEPABLE
        result = prog.test_run(ctx=bytes(8))
        assert result.retval == 0
        assert result.ctx_out[:4] == struct.pack("<I", 99)


def test_unsupported_type_is_not_supported_error(no_fd_leak):
    with Program(ProgType.KPROBE, [mov(R0, 0), exit_()]) as prog:
        with pytest.raises(NotSupportedError, match="cannot test-run"):
            prog.test_run(PACKET)


def test_short_packet_explains_einval(no_fd_leak):
    with Program(ProgType.SCHED_CLS, [mov(R0, 0), exit_()]) as prog:
        with pytest.raises(SyscallError, match="EINVAL.*Ethernet header"):
            prog.test_run(b"\x00" * 4)


def test_small_output_buffer_names_the_size_needed():
    with Program(ProgType.XDP, [mov(R0, 2), exit_()]) as prog:
        with pytest.raises(InvalidInputError, match="data_out_size=64"):
            prog.test_run(PACKET, data_out_size=10)
        assert prog.test_run(PACKET, data_out_size=64).data_out == PACKET


def test_bad_repeat_rejected():
    with Program(ProgType.XDP, [mov(R0, 2), exit_()]) as prog:
        with pytest.raises(InvalidInputError, match="repeat"):
            prog.test_run(PACKET, repeat=-1)
