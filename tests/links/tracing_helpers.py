"""Programs and workloads the tracing link tests share.

Each test program counts (or records) events of one process only, so the
test can assert exact numbers while the rest of the machine keeps running.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R6,
    R7,
    AluOp,
    AtomicOp,
    Instruction,
    JmpOp,
    Reg,
    alu,
    atomic,
    call,
    exit_,
    jmp,
    ld_map_fd,
    ldx,
    mov,
    st,
    stx,
)
from purebpf.asm.assembler import assemble
from purebpf.maps import Map
from purebpf.sys import MapType

_libc = ctypes.CDLL(None, use_errno=True)
NR_GETPID = 39


def raw_getpid() -> int:
    """getpid(2) straight through syscall(), whatever libc or Python cache."""
    return _libc.syscall(NR_GETPID)


def array_map(entries: int = 4, name: str = "counts") -> Map:
    return Map(MapType.ARRAY, 4, 8, entries, name=name)


def noop() -> list[Instruction]:
    """``return 0``: loads as any program type on any kernel (for wrong-type tests)."""
    return [mov(R0, 0), exit_()]


def only_pid(pid: int | None) -> list[Instruction]:
    """Jump to label "out" unless the current tgid is ``pid`` (None: no filter)."""
    if pid is None:
        return []
    return [
        call("get_current_pid_tgid"),
        alu(AluOp.RSH, R0, 32),
        jmp(JmpOp.JNE, R0, pid, "out"),
    ]


def _map_slot(counts: Map, slot: int, skip: str) -> list[Instruction]:
    """R0 = &counts[slot]; jump to ``skip`` when the lookup fails.  Clobbers R0-R5."""
    return [
        st(4, FP, -4, slot),
        mov(R2, FP), alu(AluOp.ADD, R2, -4),
        ld_map_fd(R1, counts.fd),
        call("map_lookup_elem"),
        jmp(JmpOp.JEQ, R0, 0, skip),
    ]


def add_to_slot(counts: Map, slot: int) -> list[Instruction]:
    """``counts[slot] += 1``."""
    label = f"added_{slot}"
    return [*_map_slot(counts, slot, label), mov(R1, 1), atomic(AtomicOp.ADD, 8, R0, 0, R1),
            mov(R0, 0).with_label(label)]


def store_to_slot(counts: Map, slot: int, value_reg: Reg) -> list[Instruction]:
    """``counts[slot] = value_reg``; ``value_reg`` must be callee-saved (R6-R9)."""
    label = f"stored_{slot}"
    return [*_map_slot(counts, slot, label), stx(8, R0, 0, value_reg), mov(R0, 0).with_label(label)]


def _program(body: list[Instruction], ret: int = 0) -> list[Instruction]:
    return assemble([*body, mov(R0, ret).with_label("out"), exit_()])


def counter(counts: Map, pid: int | None, *, ret: int = 0) -> list[Instruction]:
    """Count the events of process ``pid`` (None: all) in ``counts[0]``; return ``ret``."""
    return _program([*only_pid(pid), *add_to_slot(counts, 0)], ret)


def counter_if_ctx_equals(counts: Map, pid: int, ctx_off: int, value: int, *, width: int = 8,
                          ret: int = 0) -> list[Instruction]:
    """Count the events of ``pid`` whose ``width``-byte value at ``ctx + ctx_off`` equals ``value``."""
    return _program([
        mov(R6, R1),
        *only_pid(pid),
        ldx(width, R3, R6, ctx_off),
        jmp(JmpOp.JNE, R3, value, "out"),
        *add_to_slot(counts, 0),
    ], ret)


def recorder(counts: Map, pid: int | None, fields: dict[int, int], *, width: int = 8) -> list[Instruction]:
    """For ``pid``'s events store the ``width``-byte value at ``ctx + off`` into
    ``counts[slot]`` for each ``slot: off`` of ``fields``; count events in slot 0."""
    body: list[Instruction] = [mov(R6, R1), *only_pid(pid)]
    for slot, off in fields.items():
        body += [ldx(width, R7, R6, off), *store_to_slot(counts, slot, R7)]
    return _program([*body, *add_to_slot(counts, 0)])


def compile_c(source: str, out: Path, *flags: str) -> Path:
    """Build a small test program with gcc (tests only: purebpf never compiles C)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        import pytest
        pytest.skip("gcc is needed to build the uprobe test binary")
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run([gcc, "-O1", "-fno-inline", "-o", str(out), str(src), *flags], check=True)
    return out


def online_cpu_count() -> int:
    return len(os.sched_getaffinity(0))
