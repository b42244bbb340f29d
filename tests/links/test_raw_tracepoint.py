"""Raw tracepoint links on sys_enter, counting one process's getpid calls."""

from __future__ import annotations

import os

import pytest
from tracing_helpers import NR_GETPID, array_map, counter_if_ctx_equals, noop, raw_getpid

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import RawTracepoint
from purebpf.programs import Program
from purebpf.sys import ProgType

N = 30
ARG_SYSCALL_ID = 8  # sys_enter(struct pt_regs *regs, long id): args[1]


@pytest.fixture
def counts():
    with array_map() as m:
        yield m


def test_counts_exactly_the_getpid_calls(counts):
    insns = counter_if_ctx_equals(counts, os.getpid(), ARG_SYSCALL_ID, NR_GETPID)
    with Program(ProgType.RAW_TRACEPOINT, insns, name="raw_getpid") as prog:
        with RawTracepoint(prog, "sys_enter") as link:
            for _ in range(N):
                raw_getpid()
            os.getppid()  # another syscall: not counted
            assert link.is_bpf_link and link.info().prog_id
        assert counts[0] == N
        raw_getpid()
        assert counts[0] == N


def test_unknown_raw_tracepoint_names_it(counts, no_fd_leak):
    with Program(ProgType.RAW_TRACEPOINT, noop(), name="raw") as prog:
        with pytest.raises(NotFoundError, match="raw tracepoint 'no_such_tp'"):
            RawTracepoint(prog, "no_such_tp")
        with pytest.raises(InvalidInputError, match="raw tracepoint name"):
            RawTracepoint(prog, "")


def test_rejects_wrong_program_type(counts, no_fd_leak):
    with Program(ProgType.TRACEPOINT, noop(), name="tp") as prog:
        with pytest.raises(InvalidInputError, match="RAW_TRACEPOINT"):
            RawTracepoint(prog, "sys_enter")
