"""The map code's per-event economies (bench/trace_cost_bench.py measures
them): a key already on the stack in the key's layout is passed as is, not
copied, and count() and the histograms add an immediate 1.  Each economy is
checked on the instructions, and the programs that rely on them are run
(BEGIN through BPF_PROG_TEST_RUN) to show the maps still hold the right
values."""

from __future__ import annotations

import io

from purebpf.asm import FP, Instruction
from purebpf.asm.opcodes import Class
from purebpf.trace.compiler import compile_program
from purebpf.trace.runtime import Tracer

PROBE = "tracepoint:syscalls:sys_enter_getppid"


def insns(body: str) -> list[Instruction]:
    return compile_program(f"{PROBE} {{ {body} }}").probes[0].insns


def stack_loads(code: list[Instruction]) -> list[Instruction]:
    """Loads from the stack frame: what copying a key or reloading a saved operand costs."""
    return [i for i in code if i.cls == Class.LDX and i.src == FP]


def test_count_keyed_by_comm_loads_nothing_back_from_the_stack():
    # comm is read straight into the buffer the map helpers get as key, and the count adds an immediate
    assert stack_loads(insns("@[comm] = count();")) == []
    assert stack_loads(insns('@m["getppid"] = count();')) == []


def test_hist_moves_only_its_bucket_into_the_key():
    assert len(stack_loads(insns("@h = hist(pid);"))) == 1


def test_tuple_key_still_built_in_its_own_buffer():
    # (pid, comm): comm goes to its place in the tuple, so that copy (2 loads) stays
    assert len(stack_loads(insns("@[pid, comm] = count();"))) == 2


def run(program: str) -> list[str]:
    out = io.StringIO()
    with Tracer(compile_program(program), out=out) as tracer:
        tracer.run()
    return [line for line in out.getvalue().splitlines() if line]


def test_keys_used_in_place_still_find_their_entries():
    # a second update of each key takes the path that adds in place; a variable's own slot is a key
    # (in the probe, and copied into a loop callback's frame)
    assert run('begin { $s = "ab"; @a["x"] = count(); @a["x"] = count(); @a[$s] = count(); '
               '@b[$s, 2] = count(); @b[$s, 2] = count(); @v["k"] = 5; print(@v["k"]); '
               '@t[(1, "z")] = sum(3); @t[(1, "z")] = sum(4); '
               '@c[1] = 1; for ($kv : @c) { @d[$s] = count(); @d[$s] = count(); } clear(@c); }') == [
        "5", "@a[ab]: 1", "@a[x]: 2", "@b[ab, 2]: 2", "@d[ab]: 2", "@t[1, z]: 7", "@v[k]: 5"]


def test_histograms_count_one_per_value():
    assert run('begin { @h["k"] = hist(5); @h["k"] = hist(5); @h["k"] = hist(100); '
               '@l = lhist(15, 0, 100, 10); @l = lhist(15, 0, 100, 10); }') == [
        "@h[k]:",
        "[4, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
        "[8, 16)                0 |                                                    |",
        "[16, 32)               0 |                                                    |",
        "[32, 64)               0 |                                                    |",
        "[64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |",
        "@l:",
        "[10, 20)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"]


def test_record_key_in_another_field_order_is_reordered_not_used_in_place():
    assert run('begin { $r = (b = "z", a = 3); @r[(a = 1, b = "x")] = count(); @r[$r] = count(); }') == [
        "@r[{ .a = 1, .b = x }]: 1", "@r[{ .a = 3, .b = z }]: 1"]
