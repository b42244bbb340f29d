"""Kprobe and kretprobe links: on this host (no CONFIG_KPROBES) a clear refusal,
under the guest kernel real counting of getpid(2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tracing_helpers import array_map, counter, noop, raw_getpid, recorder

from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError
from purebpf.links import Kprobe
from purebpf.programs import Program
from purebpf.sys import ProgType

N = 20
AX = 80  # x86_64 struct pt_regs
GETPID = "__x64_sys_getpid"
HAS_KPROBES = Path("/sys/bus/event_source/devices/kprobe").exists()


@pytest.fixture
def counts():
    with array_map() as m:
        yield m


@pytest.mark.skipif(HAS_KPROBES, reason="this kernel has kprobes: the guest tests cover them")
def test_kernel_without_kprobes_says_so(counts, no_fd_leak):
    with Program(ProgType.KPROBE, noop(), name="kp") as prog:
        with pytest.raises(NotSupportedError, match=r"cannot attach kprobe to do_unlinkat: kprobes are not "
                                                    r"available on this kernel .*CONFIG_KPROBE.*use a tracepoint"):
            Kprobe(prog, "do_unlinkat")
        with pytest.raises(NotSupportedError, match="kretprobe"):
            Kprobe(prog, "do_unlinkat", retprobe=True)


def test_bad_input_is_refused_before_the_kernel(counts, no_fd_leak):
    with Program(ProgType.KPROBE, noop(), name="kp") as prog:
        with pytest.raises(InvalidInputError, match="kretprobe .* takes no offset"):
            Kprobe(prog, "do_unlinkat", offset=4, retprobe=True)
        with pytest.raises(InvalidInputError, match="kprobe function"):
            Kprobe(prog, "")
    with Program(ProgType.TRACEPOINT, noop(), name="tp") as wrong:
        with pytest.raises(InvalidInputError, match="type KPROBE"):
            Kprobe(wrong, "do_unlinkat")


@pytest.mark.guest_kernel
def test_kprobe_and_kretprobe_count_getpid_and_see_its_result(counts):
    with array_map(name="rets") as rets, \
            Program(ProgType.KPROBE, counter(counts, os.getpid()), name="getpid_in") as entry, \
            Program(ProgType.KPROBE, recorder(rets, os.getpid(), {1: AX}), name="getpid_out") as exit_:
        with Kprobe(entry, GETPID) as link, Kprobe(exit_, GETPID, retprobe=True):
            for _ in range(N):
                raw_getpid()
            assert link.info().prog_id
        assert counts[0] == N
        assert (rets[0], rets[1]) == (N, os.getpid())
        raw_getpid()
        assert counts[0] == N


@pytest.mark.guest_kernel
def test_unknown_kernel_function_is_named(counts, no_fd_leak):
    with Program(ProgType.KPROBE, noop(), name="kp") as prog:
        with pytest.raises(NotFoundError, match="no_such_function_xyz"):
            Kprobe(prog, "no_such_function_xyz")
