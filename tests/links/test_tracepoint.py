"""Tracepoint links against the real kernel's syscalls tracepoints."""

from __future__ import annotations

import os

import pytest
from tracing_helpers import array_map, counter, noop, only_pid, raw_getpid, store_to_slot

from purebpf.asm import R0, R1, R6, R7, call, exit_, mov
from purebpf.asm.assembler import assemble
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import Tracepoint
from purebpf.programs import Program
from purebpf.sys import ProgType

N = 25


@pytest.fixture
def counts():
    with array_map() as m:
        yield m


def test_counts_exactly_the_getpid_calls(counts):
    with Program(ProgType.TRACEPOINT, counter(counts, os.getpid()), name="tp_getpid") as prog:
        with Tracepoint(prog, "syscalls", "sys_enter_getpid") as link:
            for _ in range(N):
                os.getpid()  # Python 3.11 + glibc: one syscall per call (checked below)
            for _ in range(N):
                raw_getpid()
            assert link.is_bpf_link and link.info().prog_id
        assert counts[0] == 2 * N
        os.getpid()  # detached: no longer counted
        assert counts[0] == 2 * N


def test_unknown_tracepoint_names_it(counts, no_fd_leak):
    with Program(ProgType.TRACEPOINT, noop(), name="tp") as prog:
        with pytest.raises(NotFoundError, match="syscalls:sys_enter_nosuchcall"):
            Tracepoint(prog, "syscalls", "sys_enter_nosuchcall")
        with pytest.raises(NotFoundError, match="nosuchgroup:x"):
            Tracepoint(prog, "nosuchgroup", "x")


def test_rejects_bad_input_before_the_kernel(counts, no_fd_leak):
    with Program(ProgType.TRACEPOINT, noop(), name="tp") as prog:
        with pytest.raises(InvalidInputError, match="tracepoint group"):
            Tracepoint(prog, "../syscalls", "sys_enter_getpid")
        with pytest.raises(InvalidInputError, match="tracepoint name"):
            Tracepoint(prog, "syscalls", "")
    with Program(ProgType.SOCKET_FILTER, noop(), name="sk") as wrong:
        with pytest.raises(InvalidInputError, match="type TRACEPOINT.*SOCKET_FILTER"):
            Tracepoint(wrong, "syscalls", "sys_enter_getpid")


def test_cookie_reaches_the_program(counts):
    cookie = 0xDEADBEEF_12345678  # both halves of the u64 must arrive
    insns = assemble([
        mov(R6, R1),
        *only_pid(os.getpid()),
        mov(R1, R6),
        call("get_attach_cookie"),
        mov(R7, R0),
        *store_to_slot(counts, 1, R7),
        mov(R0, 0).with_label("out"),
        exit_(),
    ])
    with Program(ProgType.TRACEPOINT, insns, name="tp_cookie") as prog:
        with Tracepoint(prog, "syscalls", "sys_enter_getpid", cookie=cookie):
            raw_getpid()
        assert counts[1] == cookie
