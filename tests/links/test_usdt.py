"""USDT links on the suite's USDT programs: every site, semaphores, cookies, libraries, errors."""

from __future__ import annotations

import os
import time

import pytest
from tracing_helpers import array_map

from purebpf.asm import FP, R0, R1, R2, AtomicOp, JmpOp, add, atomic, call, exit_, jmp, ld_map_fd, mov, stx
from purebpf.asm.assembler import assemble
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import Usdt, usdt_probes
from purebpf.programs import Program
from purebpf.sys import ProgType
from tests.symbols.usdt_programs import build, start, stop

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the test programs' notes are x86_64's")


@pytest.fixture(scope="module")
def progs(tmp_path_factory):
    return build(tmp_path_factory.mktemp("usdt"))


def cookie_counter(counts) -> Program:
    """counts[cookie] += 1 (cookies 0..3)."""
    insns = [call("get_attach_cookie"), jmp(JmpOp.JGT, R0, 3, "out"), stx(4, FP, -4, R0),
             mov(R2, FP), add(R2, -4), ld_map_fd(R1, counts.fd), call("map_lookup_elem"),
             jmp(JmpOp.JEQ, R0, 0, "out"), mov(R1, 1), atomic(AtomicOp.ADD, 8, R0, 0, R1),
             mov(R0, 0).with_label("out"), exit_()]
    return Program(ProgType.KPROBE, assemble(insns), name="usdt_count")


def wait_for(predicate, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_every_site_gets_its_cookie(progs):
    """usdt_inlined's probe has two sites with different specs: a uprobe each, cookies 1 and 2."""
    proc = start(progs / "testprogs" / "usdt_inlined")
    try:
        with array_map() as counts, cookie_counter(counts) as prog:
            specs: dict[str, int] = {}  # each site's cookie: 1 + the index of its spec
            with Usdt(prog, str(progs / "testprogs" / "usdt_inlined"), "tracetest", "testprobe", pid=proc.pid,
                      cookie=lambda site: 1 + specs.setdefault(site.arg_spec, len(specs))) as link:
                assert len(link.links) == 2 and not link.closed
                assert wait_for(lambda: counts[1] >= 2 and counts[2] >= 2)
            assert link.closed
            after = (counts[1], counts[2])
            time.sleep(0.25)
            assert (counts[1], counts[2]) == after  # detached
    finally:
        stop(proc)


def test_semaphore_is_set_while_attached(progs):
    """usdt_semaphore_test fires its probe only when its semaphore is non-zero: the kernel sets it."""
    path = progs / "testprogs" / "usdt_semaphore_test"
    proc = start(path)
    try:
        time.sleep(0.2)
        with array_map() as counts, cookie_counter(counts) as prog:
            with Usdt(prog, str(path), None, "testprobe"):
                assert wait_for(lambda: counts[0] >= 2)
            n = counts[0]
            time.sleep(0.3)
            assert counts[0] == n
    finally:
        stop(proc)


def test_probe_in_a_shared_library(progs):
    lib = progs / "testlibs" / "libusdt_tp.so"
    proc = start(progs / "testprogs" / "usdt_lib")
    try:
        time.sleep(0.2)
        assert [n.full_name for n in usdt_probes("libusdt_tp.so", pid=proc.pid)] == ["tracetestlib:lib_probe_1"]
        with array_map() as counts, cookie_counter(counts) as prog:
            with Usdt(prog, str(lib), "tracetestlib", "lib_probe_1", pid=proc.pid, cookie=3) as link:
                assert wait_for(lambda: counts[3] >= 2)
                assert "libusdt_tp.so" in repr(link)
    finally:
        stop(proc)


def test_errors_name_the_problem(progs, no_fd_leak):
    path = str(progs / "testprogs" / "usdt_test")
    with array_map() as counts, cookie_counter(counts) as prog:
        with pytest.raises(NotFoundError, match="does not exist"):
            Usdt(prog, "/nonexistent/app", "p", "n")
        with pytest.raises(NotFoundError, match=r"no USDT probe tracetest:nope .*its probes: tracetest2:testprobe2, "
                                                r"tracetest:testprobe, tracetest:testprobe2"):
            Usdt(prog, path, "tracetest", "nope")
        with pytest.raises(InvalidInputError, match="ambiguous in .*: give the provider, one of tracetest, tracetest2"):
            Usdt(prog, path, None, "testprobe2")
        with pytest.raises(InvalidInputError, match="one exact name"):
            Usdt(prog, path, "tracetest", "test*")
        with pytest.raises(InvalidInputError, match="invalid pid"):
            Usdt(prog, path, "tracetest", "testprobe", pid=-3)
    with Program(ProgType.TRACEPOINT, assemble([mov(R0, 0), exit_()]), name="wrong") as wrong:
        with pytest.raises(InvalidInputError):
            Usdt(wrong, path, "tracetest", "testprobe")
