"""LSM links: a task_kill policy that denies one signal from this process (guest kernel)."""

from __future__ import annotations

import os
import signal

import pytest
from tracing_helpers import add_to_slot, array_map, noop, only_pid

from purebpf.asm import R0, R1, R3, R6, JmpOp, exit_, jmp, ldx, mov
from purebpf.asm.assembler import assemble
from purebpf.errors import InvalidInputError
from purebpf.links import Lsm, tracing_spec
from purebpf.programs import Program
from purebpf.sys import ProgType

N = 9
SIG_ARG = 16  # bpf_lsm_task_kill(struct task_struct *p, struct kernel_siginfo *info, int sig, const cred *)
DENIED = signal.SIGWINCH  # ignored by default: harmless once allowed again


def deny_signal(counts, pid: int, sig: int):
    """Return -EPERM (and count) for ``pid`` sending ``sig``; allow everything else."""
    return assemble([
        mov(R6, R1),
        *only_pid(pid),
        ldx(4, R3, R6, SIG_ARG),
        jmp(JmpOp.JNE, R3, sig, "out"),
        *add_to_slot(counts, 0),
        mov(R0, -1),
        exit_(),
        mov(R0, 0).with_label("out"),
        exit_(),
    ])


def test_spec_uses_the_bpf_lsm_hook():
    spec = tracing_spec([], "lsm", "task_kill")
    assert spec.type == ProgType.LSM


def test_rejects_tracing_programs(no_fd_leak):
    with Program(ProgType.KPROBE, noop(), name="kp") as prog:
        with pytest.raises(InvalidInputError, match="LSM"):
            Lsm(prog)


@pytest.mark.guest_kernel
def test_lsm_policy_denies_a_signal_until_detached():
    with array_map() as counts, \
            Program(tracing_spec(deny_signal(counts, os.getpid(), DENIED), "lsm", "task_kill")) as prog:
        with Lsm(prog) as link:
            for _ in range(N):
                with pytest.raises(PermissionError):
                    os.kill(os.getpid(), DENIED)
            os.kill(os.getpid(), 0)  # other signals pass
            assert link.info().prog_id
        assert counts[0] == N
        os.kill(os.getpid(), DENIED)  # allowed again
        assert counts[0] == N
