"""BTF tracepoint (tp_btf) links on sys_enter, counting one process's getpid calls."""

from __future__ import annotations

import os

import pytest
from tracing_helpers import NR_GETPID, array_map, counter_if_ctx_equals, noop, raw_getpid

from purebpf.btf.kernel import load_kernel
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import TpBtf, tracing_spec
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, ProgType

N = 30
ARG_SYSCALL_ID = 8  # btf_trace_sys_enter(void *, struct pt_regs *regs, long id): args[1]


@pytest.fixture
def counts():
    with array_map() as m:
        yield m


def test_spec_names_the_typedef_of_the_tracepoint():
    spec = tracing_spec([], "tp_btf", "sys_enter")
    assert (spec.type, spec.expected_attach_type) == (ProgType.TRACING, AttachType.TRACE_RAW_TP)
    btf = load_kernel()
    assert btf.name_of(spec.attach_btf_id) == "btf_trace_sys_enter"


def test_counts_exactly_the_getpid_calls(counts):
    insns = counter_if_ctx_equals(counts, os.getpid(), ARG_SYSCALL_ID, NR_GETPID)
    with Program(tracing_spec(insns, "tp_btf", "sys_enter", name="tpbtf_getpid")) as prog:
        with TpBtf(prog) as link:
            for _ in range(N):
                raw_getpid()
            os.getppid()
            assert link.info().prog_id
        assert counts[0] == N
        raw_getpid()
        assert counts[0] == N


def test_unknown_tracepoint_names_it(no_fd_leak):
    with pytest.raises(NotFoundError, match="tp_btf target 'no_such_tp'.*btf_trace_no_such_tp"):
        tracing_spec([], "tp_btf", "no_such_tp")
    with pytest.raises(InvalidInputError, match="unknown BTF attach kind 'kprobe'"):
        tracing_spec([], "kprobe", "sys_enter")


def test_rejects_a_program_loaded_for_another_attach_type(counts, no_fd_leak):
    with Program(ProgramSpec(ProgType.RAW_TRACEPOINT, noop(), name="raw")) as prog:
        with pytest.raises(InvalidInputError, match="TRACING"):
            TpBtf(prog)
