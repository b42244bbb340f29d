"""Programs that emit numbered records on demand, run with BPF_PROG_TEST_RUN.

Raw tracepoint programs take their ``u64`` arguments from the test-run context,
so a test decides exactly what is emitted and on which CPU: deterministic
producers for the readers, with no tracing workload.  The benchmark uses them
too (bench/ringbuf_bench.py).
"""

from __future__ import annotations

import ctypes
import struct

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    AtomicOp,
    Instruction,
    JmpOp,
    add,
    atomic,
    call,
    exit_,
    jmp,
    ld_map_fd,
    ld_map_value,
    ldx,
    mov,
    st,
    stx,
)
from purebpf.events import DropCounter
from purebpf.maps import Map
from purebpf.programs import Program, ProgType
from purebpf.sys import Cmd, bpf
from purebpf.sys.attrs import ProgTestRunAttr
from purebpf.sys.constants import BPF_F_TEST_RUN_ON_CPU

BPF_F_CURRENT_CPU = 0xFFFFFFFF
TC_ACT_OK = 0


def run(prog: Program, *args: int, cpu: int | None = None) -> int:
    """Run ``prog`` once with ``args`` as its raw tracepoint arguments (on ``cpu``); return its r0.

    Raw tracepoint test runs refuse ``repeat``, ``ctx_out`` and data, so this
    sets ``ctx_in`` alone (``Program.test_run`` also asks for the context back).
    """
    ctx = (ctypes.c_uint64 * max(len(args), 1))(*args)
    attr = ProgTestRunAttr(prog_fd=prog.fd, ctx_in=ctypes.addressof(ctx), ctx_size_in=ctypes.sizeof(ctx))
    if cpu is not None:
        attr.flags, attr.cpu = BPF_F_TEST_RUN_ON_CPU, cpu
    bpf(Cmd.PROG_TEST_RUN, attr, f"test run of {prog.name}")
    return ctypes.c_int32(attr.retval).value


def _slots(insns: list[Instruction]) -> int:
    return sum(i.slots for i in insns)


def _fill(size: int) -> list[Instruction]:
    """Record body at r0: seq (r7) in the first and the last u64, 0xAB bytes between."""
    body = [stx(8, R0, 0, R7)]
    body += [st(1, R0, off, 0xAB) for off in range(8, size - 8)]
    if size >= 16:
        body.append(stx(8, R0, size - 8, R7))
    return body


def reserve_prog(ring: Map, size: int, drops: DropCounter | None = None, *, discard: bool = False) -> Program:
    """One ``size``-byte record per run via reserve + submit (or discard); arg0 is the seq."""
    if size < 8 or size % 8:
        raise ValueError("record size must be a multiple of 8, at least 8")
    bump = drops.increment() if drops else []
    insns = [
        ldx(8, R7, R1, 0),
        ld_map_fd(R1, ring.fd), mov(R2, size), mov(R3, 0), call("ringbuf_reserve"),
        jmp(JmpOp.JNE, R0, 0, _slots(bump) + 2),
        *bump, mov(R0, 1), exit_(),
        *_fill(size),
        mov(R1, R0), mov(R2, 0), call("ringbuf_discard" if discard else "ringbuf_submit"),
        mov(R0, 0), exit_(),
    ]
    return Program(ProgType.RAW_TRACEPOINT, insns, name=f"rb_reserve{size}")


def output_prog(ring: Map, drops: DropCounter | None = None) -> Program:
    """One 16-byte record (seq, seq) per run via ``bpf_ringbuf_output`` from the stack."""
    bump = drops.increment() if drops else []
    insns = [
        ldx(8, R7, R1, 0), stx(8, FP, -16, R7), stx(8, FP, -8, R7),
        ld_map_fd(R1, ring.fd), mov(R2, FP), add(R2, -16),  # r2 += -16
        mov(R3, 16), mov(R4, 0), call("ringbuf_output"),
        jmp(JmpOp.JEQ, R0, 0, _slots(bump) + 2),
        *bump, mov(R0, 1), exit_(),
        mov(R0, 0), exit_(),
    ]
    return Program(ProgType.RAW_TRACEPOINT, insns, name="rb_output")


def perf_prog(events: Map, size: int = 16) -> Program:
    """One ``size``-byte sample (seq, cpu, zeros) per run to the current CPU's perf
    ring; arg0 is the seq.  Returns the helper's result (-ENOSPC when the ring is full)."""
    if size < 16 or size % 8 or size > 256:
        raise ValueError("sample size must be a multiple of 8 from 16 to 256")
    insns = [
        mov(R6, R1), ldx(8, R7, R1, 0), stx(8, FP, -size, R7),
        call("get_smp_processor_id"), stx(8, FP, -size + 8, R0),
        *[st(8, FP, off, 0) for off in range(-size + 16, 0, 8)],
        mov(R1, R6), ld_map_fd(R2, events.fd), mov(R3, BPF_F_CURRENT_CPU, bits=32),
        mov(R4, FP), add(R4, -size), mov(R5, size), call("perf_event_output"),
        exit_(),
    ]
    return Program(ProgType.RAW_TRACEPOINT, insns, name=f"perf_seq{size}")


def burst_prog(ring: Map, size: int, drops: DropCounter, seq: Map) -> Program:
    """The fastest producer a test run allows: an XDP program (the kinds whose test
    runs honour ``repeat``) that writes one ``size``-byte record per run, numbered
    by an atomic counter in the one-slot array ``seq``; failed reserves bump
    ``drops``.  Run it with :func:`run_repeat`."""
    bump = drops.increment()
    fill = [stx(8, R0, 0, R7)] + [st(8, R0, off, 0) for off in range(8, size, 8)]
    insns = [
        ld_map_value(R1, seq.fd, 0), mov(R7, 1), atomic(AtomicOp.ADD | AtomicOp.FETCH, 8, R1, 0, R7),
        ld_map_fd(R1, ring.fd), mov(R2, size), mov(R3, 0), call("ringbuf_reserve"),
        jmp(JmpOp.JNE, R0, 0, _slots(bump) + 2),
        *bump, mov(R0, TC_ACT_OK), exit_(),
        *fill, mov(R1, R0), mov(R2, 0), call("ringbuf_submit"),
        mov(R0, TC_ACT_OK), exit_(),
    ]
    return Program(ProgType.SCHED_CLS, insns, name=f"rb_burst{size}")


def run_repeat(prog: Program, repeat: int) -> None:
    """Run a packet program ``repeat`` times in one BPF_PROG_TEST_RUN (over a dummy frame)."""
    prog.test_run(bytes(64), repeat=repeat, data_out_size=64)


SEQ = struct.Struct("<Q")
