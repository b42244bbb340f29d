"""The program building blocks, run in the kernel with BPF_PROG_TEST_RUN."""

from __future__ import annotations

import ctypes
import random

import pytest

from purebpf.asm import R0, R1, R2, R6, assemble, exit_, ldx
from purebpf.programs import Program, ProgType
from purebpf.sys import Cmd, bpf
from purebpf.sys.attrs import ProgTestRunAttr
from purebpf.tools import hist, kit


def run_raw_tp(prog: Program, arg: int) -> int:
    ctx = (ctypes.c_uint64 * 1)(arg)
    attr = ProgTestRunAttr(prog_fd=prog.fd, ctx_in=ctypes.addressof(ctx), ctx_size_in=ctypes.sizeof(ctx))
    bpf(Cmd.PROG_TEST_RUN, attr, "test run")
    return attr.retval


@pytest.fixture(scope="module")
def log2_prog():
    a = kit.Asm()
    a(ldx(8, R6, R1, 0))
    kit.log2_slot(a, R0, R6, R1, R2)
    a(exit_())
    prog = Program(ProgType.RAW_TRACEPOINT, assemble(a.insns), name="log2")
    yield prog
    prog.close()


def test_log2_slot_matches_libbpf_tools_slots(log2_prog):
    values = [0, 1, 2, 3, 4, 7, 8, 1023, 1024, (1 << 32) - 1, 1 << 32, (1 << 63) + 5, (1 << 64) - 1]
    values += [random.getrandbits(random.randint(1, 64)) for _ in range(200)]
    for v in values:
        assert run_raw_tp(log2_prog, v) == hist.log2_slot(v), v


def test_log2_lines_match_libbpf_tools_layout():
    lines = hist.log2_lines([0, 2, 4], "usecs")
    assert lines == [
        "     usecs               : count    distribution",
        "         0 -> 1          : 0        |                                        |",
        "         2 -> 3          : 2        |********************                    |",
        "         4 -> 7          : 4        |****************************************|",
    ]
    assert hist.log2_lines([0, 0], "usecs") == []
