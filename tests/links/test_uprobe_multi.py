"""Uprobe-multi links: one program on several functions of a small C program through one bpf_link."""

from __future__ import annotations

import os
import subprocess

import pytest
from tracing_helpers import array_map, compile_c

from purebpf import features
from purebpf.asm import FP, R0, R1, R2, AluOp, AtomicOp, JmpOp, alu, atomic, call, exit_, jmp, ld_map_fd, mov, stx
from purebpf.asm.assembler import assemble
from purebpf.errors import InvalidInputError, NotFoundError, SyscallError
from purebpf.links import UprobeMulti
from purebpf.links.symbols import symbol_offset
from purebpf.links.uprobe_multi import functions_matching
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, ProgType

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>

__attribute__((noipa)) int work_a(int x) { return x + 1; }
__attribute__((noipa)) int work_b(int x) { return x * 2; }
__attribute__((noipa)) int work_c(int x) { return x - 3; }
__attribute__((noipa)) int other(int x) { return x; }
/* a function the kernel cannot probe: uprobes do not step over lock-prefixed instructions */
__asm__(".globl locked\n.type locked,@function\nlocked:\n lock decl (%rdi)\n ret\n.size locked, .-locked\n");

int main(int argc, char **argv) {
    char line[16];
    if (!fgets(line, sizeof line, stdin))  /* wait until the test has attached */
        return 1;
    int n = argc > 1 ? atoi(argv[1]) : 1, sum = 0;
    for (int i = 0; i < n; i++) sum += work_a(i);
    for (int i = 0; i < 2 * n; i++) sum += work_b(i);
    for (int i = 0; i < 3 * n; i++) sum += work_c(i);
    sum += other(n);
    printf("%d\n", sum);
    return 0;
}
"""

pytestmark = pytest.mark.skipif(not features.has_attach_kind("uprobe_multi"),
                                reason="this kernel has no uprobe_multi links (Linux 6.6+)")


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    return compile_c(SOURCE, tmp_path_factory.mktemp("uprobe_multi") / "worker")


def cookie_counter(counts) -> list:
    """``counts[bpf_get_attach_cookie()] += 1``: one slot per probed function."""
    return assemble([
        call("get_attach_cookie"),  # R1 is still ctx
        stx(4, FP, -4, R0),
        mov(R2, FP), alu(AluOp.ADD, R2, -4), ld_map_fd(R1, counts.fd), call("map_lookup_elem"),
        jmp(JmpOp.JEQ, R0, 0, "out"),
        mov(R1, 1), atomic(AtomicOp.ADD, 8, R0, 0, R1),
        mov(R0, 0).with_label("out"), exit_(),
    ])


def multi_prog(insns, name="multi") -> Program:
    return Program(ProgramSpec(ProgType.KPROBE, insns, name=name,
                               expected_attach_type=AttachType.TRACE_UPROBE_MULTI))


def run(binary, n: int) -> subprocess.Popen:
    return subprocess.Popen([str(binary), str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def finish(proc: subprocess.Popen) -> None:
    proc.communicate(b"go\n", timeout=10)
    assert proc.returncode == 0


def counts_of(counts, n: int) -> list[int]:
    return [counts[i] for i in range(n)]


def test_glob_attaches_every_match_with_one_link_and_cookies_tell_them_apart(worker, no_fd_leak):
    assert functions_matching(worker, "work_*") == ["work_a", "work_b", "work_c"]
    with array_map(8) as counts, multi_prog(cookie_counter(counts)) as prog:
        proc = run(worker, 5)
        try:
            with UprobeMulti(prog, str(worker), symbols="work_*", cookies=[1, 2, 3], pid=proc.pid) as link:
                assert link.symbols == ["work_a", "work_b", "work_c"]
                assert link.offsets == [symbol_offset(worker, s) for s in link.symbols]
                info = link.info()
                assert info.type == 12 and info.prog_id  # BPF_LINK_TYPE_UPROBE_MULTI
                finish(proc)
        finally:
            proc.kill()
            proc.wait()
        assert counts_of(counts, 5) == [0, 5, 10, 15, 0]


def test_uretprobe_by_offsets_fires_on_return(worker, no_fd_leak):
    offsets = [symbol_offset(worker, "work_b"), symbol_offset(worker, "other")]
    with array_map(8) as counts, multi_prog(cookie_counter(counts)) as prog:
        proc = run(worker, 4)
        try:
            with UprobeMulti(prog, str(worker), offsets=offsets, cookies=[6, 7], retprobe=True, pid=proc.pid) as link:
                assert link.kind == "uretprobe_multi" and link.symbols is None
                finish(proc)
        finally:
            proc.kill()
            proc.wait()
        assert (counts[6], counts[7]) == (8, 1)


def test_pid_keeps_other_processes_out(worker, no_fd_leak):
    with array_map(8) as counts, multi_prog(cookie_counter(counts)) as prog:
        target, other = run(worker, 2), run(worker, 3)
        try:
            with UprobeMulti(prog, str(worker), symbols=["work_a"], pid=target.pid):  # no cookies: slot 0
                finish(other)
                finish(target)
        finally:
            for p in (target, other):
                p.kill()
                p.wait()
        assert counts[0] == 2


def test_bad_inputs_are_named_before_the_kernel_is_asked(worker, no_fd_leak):
    with array_map() as counts, multi_prog(cookie_counter(counts)) as prog:
        with pytest.raises(InvalidInputError, match="exactly one of symbols= .* and offsets="):
            UprobeMulti(prog, str(worker))
        with pytest.raises(InvalidInputError, match="exactly one of"):
            UprobeMulti(prog, str(worker), symbols=["work_a"], offsets=[0])
        with pytest.raises(InvalidInputError, match="2 cookies for 3 probes"):
            UprobeMulti(prog, str(worker), symbols="work_*", cookies=[1, 2])
        with pytest.raises(InvalidInputError, match="at least one"):
            UprobeMulti(prog, str(worker), offsets=[])
        with pytest.raises(InvalidInputError, match="invalid .* offsets"):
            UprobeMulti(prog, str(worker), offsets=[-1])
        with pytest.raises(InvalidInputError, match="invalid pid"):
            UprobeMulti(prog, str(worker), symbols=["work_a"], pid=0)
        with pytest.raises(NotFoundError, match="no function of .* matches 'nothing_\\*'"):
            UprobeMulti(prog, str(worker), symbols="nothing_*")
        with pytest.raises(NotFoundError, match="symbol 'missing' not found"):
            UprobeMulti(prog, str(worker), symbols=["work_a", "missing"])
        with pytest.raises(NotFoundError, match="does not exist"):
            UprobeMulti(prog, "/nonexistent/binary", symbols=["main"])


def test_wrong_program_is_refused(worker, no_fd_leak):
    with Program(ProgType.TRACEPOINT, [mov(R0, 0), exit_()]) as tp:
        with pytest.raises(InvalidInputError, match="runs programs of type KPROBE"):
            UprobeMulti(tp, str(worker), symbols=["work_a"])
    # a KPROBE program loaded without expected_attach_type: the kernel refuses, the message says why
    with Program(ProgType.KPROBE, [mov(R0, 0), exit_()]) as plain:
        with pytest.raises(SyscallError, match="expected_attach_type=TRACE_UPROBE_MULTI"):
            UprobeMulti(plain, str(worker), symbols=["work_a"])


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the unprobeable function is x86_64 code")
def test_a_function_the_kernel_cannot_probe_is_explained(worker, no_fd_leak):
    # the kernel reads the instruction when it sets the breakpoint in a process that maps the file
    proc = run(worker, 1)
    try:
        with array_map() as counts, multi_prog(cookie_counter(counts)) as prog:
            refused = r"^uprobe_multi .* \(3 probes\): the kernel cannot probe locked \(.*\): leave that function out$"
            with pytest.raises(SyscallError, match=refused):
                UprobeMulti(prog, str(worker), symbols=["work_a", "work_b", "locked"])  # found among three
        finish(proc)
    finally:
        proc.kill()
        proc.wait()


def test_closing_detaches_every_probe(worker, no_fd_leak):
    with array_map(8) as counts, multi_prog(cookie_counter(counts)) as prog:
        link = UprobeMulti(prog, str(worker), symbols="work_*", cookies=[1, 2, 3])
        link.close()
        assert link.closed
        proc = run(worker, 2)
        try:
            finish(proc)
        finally:
            proc.kill()
            proc.wait()
        assert counts_of(counts, 4) == [0, 0, 0, 0]


def test_feature_probe_agrees_with_a_real_attachment(worker):
    # this module runs only where the probe says yes; a real attachment must then work
    with array_map() as counts, multi_prog(cookie_counter(counts)) as prog:
        with UprobeMulti(prog, str(worker), symbols=["other"]) as link:
            assert link.fd >= 0
    assert os.path.exists("/sys/bus/event_source/devices/uprobe")
