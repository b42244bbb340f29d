"""BPF iterator links: a hand-assembled iter/task program counts this process's
threads and writes their ids into the iterator, which the test reads to EOF."""

from __future__ import annotations

import os
import struct
import threading

import pytest
from tracing_helpers import add_to_slot, array_map, noop

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, JmpOp, add, assemble, call, exit_, jmp, ldx, mov, stx
from purebpf.btf.kernel import load_kernel
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import Iter, iter_targets, tracing_spec
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, ProgType

CTX_META, CTX_TASK = 0, 8  # struct bpf_iter__task { struct bpf_iter_meta *meta; struct task_struct *task; }
THREADS = 3


def task_counter(counts, tgid: int) -> list:
    """Slot 0: tasks seen; slot 1: the end-of-iteration call (task NULL); slot 2: tasks of ``tgid``,
    whose thread ids also go into the iterator (bpf_seq_write, 4 bytes each)."""
    btf = load_kernel()
    tgid_off, pid_off = btf.member_offset("task_struct", "tgid"), btf.member_offset("task_struct", "pid")
    return assemble([
        mov(R6, R1),
        ldx(8, R7, R6, CTX_TASK),
        jmp(JmpOp.JNE, R7, 0, "task"),
        *add_to_slot(counts, 1),
        mov(R0, 0), exit_(),
        mov(R0, 0).with_label("task"),
        *add_to_slot(counts, 0),
        ldx(4, R1, R7, tgid_off),
        jmp(JmpOp.JNE, R1, tgid, "out"),
        *add_to_slot(counts, 2),
        ldx(4, R1, R7, pid_off),
        stx(4, FP, -8, R1),
        ldx(8, R1, R6, CTX_META),
        ldx(8, R1, R1, 0),  # meta->seq
        mov(R2, FP), add(R2, -8),
        mov(R3, 4),
        call("seq_write"),
        mov(R0, 0).with_label("out"),
        exit_(),
    ])


@pytest.fixture
def threads():
    """THREADS extra threads of this process, alive for the test."""
    stop = threading.Event()
    started = [threading.Thread(target=stop.wait) for _ in range(THREADS)]
    for t in started:
        t.start()
    yield
    stop.set()
    for t in started:
        t.join()


def test_iteration_visits_every_task_then_null_once(threads):
    tids = {int(t) for t in os.listdir("/proc/self/task")}
    with array_map() as counts, Program(tracing_spec(task_counter(counts, os.getpid()), "iter", "task",
                                                     name="iter_count")) as prog, Iter(prog) as link:
        output = link.read()
        assert counts[1] == 1  # one end-of-iteration call, object NULL
        assert counts[2] == len(tids) >= THREADS + 1
        assert set(struct.unpack(f"<{len(output) // 4}I", output)) == tids
        # every task of the system: roughly the threads /proc lists (tasks come and go meanwhile)
        system = sum(len(os.listdir(f"/proc/{p}/task")) for p in os.listdir("/proc") if p.isdigit()
                     and os.path.isdir(f"/proc/{p}/task"))
        assert abs(counts[0] - system) <= max(20, system // 10)
        link.read()  # each read creates a new iterator: a second whole pass
        assert counts[1] == 2 and counts[2] == 2 * len(tids)


def test_spec_names_the_iterator_function():
    spec = tracing_spec([], "iter", "task")
    assert (spec.type, spec.expected_attach_type) == (ProgType.TRACING, AttachType.TRACE_ITER)
    assert load_kernel().name_of(spec.attach_btf_id) == "bpf_iter_task"


def test_targets_listed_from_btf():
    targets = iter_targets()
    assert {"task", "task_file", "task_vma"} <= set(targets)
    assert not any(t.endswith(("_new", "_next", "_destroy")) for t in targets)  # open-coded iterator kfuncs


def test_unknown_target_names_it(no_fd_leak):
    with pytest.raises(NotFoundError, match="iter target 'no_such'.*bpf_iter_no_such"):
        tracing_spec([], "iter", "no_such")


def test_rejects_a_program_loaded_for_another_attach_type(no_fd_leak):
    with Program(ProgramSpec(ProgType.RAW_TRACEPOINT, noop(), name="raw")) as prog:
        with pytest.raises(InvalidInputError, match="TRACING"):
            Iter(prog)
