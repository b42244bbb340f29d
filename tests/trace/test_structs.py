"""Struct and pointer member access: the program's own C definitions (laid out
as gcc lays them out), kernel BTF (``curtask``, tracepoint pointers, typed
raw-tracepoint and fentry arguments), struct values stored and printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from purebpf.trace.cstructs import CDefinitionError, parse_structs
from purebpf.trace.structs import StructTable, kernel_btf

from .test_runtime import bpftrace, needs_bpftrace, ours, same_output, stdout_without_banner

HERE = Path(__file__).parent
POINT = ("struct point { int x; unsigned int flag:1; unsigned int level:3; char name[8]; "
         "struct point *next; }")


def layout_by_gcc(tmp_path: Path, definition: str, name: str, members: list[str]) -> list[int]:
    """sizeof and offsetof as gcc computes them for the same definition."""
    src = tmp_path / "layout.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" + definition + ";\n"
                   "int main(void) { printf(\"%zu" + " %zu" * len(members) + "\\n\", sizeof(struct " + name + ")"
                   + "".join(f", offsetof(struct {name}, {m})" for m in members) + "); return 0; }\n")
    exe = tmp_path / "layout"
    subprocess.run(["gcc", "-o", str(exe), str(src)], check=True)
    return [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]


@pytest.mark.parametrize("definition, name, members", [
    ("struct foo { int x; char y; int z; }", "foo", ["x", "y", "z"]),
    ("struct bar { int x; char y; int z; } __attribute__((packed))", "bar", ["x", "y", "z"]),
    ("struct mix { char a; long b; short c; char d[3]; uint16_t e; void *f; }", "mix", ["a", "b", "c", "d", "e", "f"]),
    ("struct outer { char tag; struct { short s; long l; } in; union { int i; char c[9]; } u; }", "outer",
     ["tag", "in", "u"]),
    ("struct aligned { char c; } __attribute__((aligned(16)))", "aligned", ["c"]),
])
def test_c_definitions_are_laid_out_as_gcc_does(tmp_path, definition, name, members):
    table = StructTable()
    parse_structs([definition], table)
    t = table.find(name)
    assert t is not None
    ours_ = [t.size] + [table.member(t, m).offset for m in members]
    assert ours_ == layout_by_gcc(tmp_path, definition, name, members)


def test_bitfields_take_their_bits_in_order():
    table = StructTable()
    parse_structs(["struct b { unsigned long long x0:1; unsigned long long x1:1; unsigned long long x2:2; "
                   "int tail:7; unsigned int big:30; }"], table)
    t = table.find("b")
    got = [(m.name, m.offset * 8 + m.bit_offset, m.bit_size) for m in table.layout("b").members]
    assert got == [("x0", 0, 1), ("x1", 1, 1), ("x2", 2, 2), ("tail", 4, 7), ("big", 32, 30)]
    assert t.size == 8


def test_a_by_value_member_of_an_unknown_struct_is_an_error():
    with pytest.raises(CDefinitionError, match="incomplete type 'struct nowhere'"):
        parse_structs(["struct a { struct nowhere n; }"], StructTable())


def test_kernel_structs_come_from_btf():
    btf = kernel_btf()
    if btf is None:
        pytest.skip("this kernel has no BTF")
    table = StructTable(btf_source=kernel_btf)
    task = table.find("task_struct")
    assert task.size == btf.sizeof("struct task_struct")
    pid = table.member(task, "pid")
    assert pid.offset == btf.member_offset("task_struct", "pid") and pid.type.size == 4 and pid.type.signed
    comm = table.member(task, "comm")
    assert comm.type.kind == "string" and comm.type.size == 16
    parent = table.member(task, "real_parent")
    assert parent.type.kind == "pointer" and parent.type.elems[0].extra == "task_struct"


def test_curtask_walks_to_the_parent():
    proc = subprocess.Popen([sys.executable, "-m", "purebpf", "trace", "-e",
                             'BEGIN { printf("%d %d %s\\n", curtask->tgid, curtask->real_parent->tgid, '
                             'curtask.group_leader.comm); exit(); }'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    tgid, parent, comm = stdout_without_banner(subprocess.CompletedProcess([], 0, out, "")).split()
    assert (int(tgid), int(parent)) == (proc.pid, os.getpid())
    assert comm == "bpftrace"  # purebpf trace names its process as bpftrace does


@needs_bpftrace
def test_tracepoint_pointer_arguments_are_typed_by_btf(workload):
    out = same_output('tracepoint:syscalls:sys_enter_clock_nanosleep /comm == "pbtwork"/ '
                      '{ printf("%d %d\\n", args->rqtp->tv_sec, args->rqtp->tv_nsec); }', f"{workload} sleep 3")
    assert "0 3000000\n" in out


def test_raw_tracepoint_arguments_are_named_and_typed(workload):
    proc = ours('rawtracepoint:sys_enter /comm == "pbtwork"/ { if (args.id == 39) { @getpid = count(); } '
                '@regs_seen = max(args.regs != 0); }', f"{workload} getpid 7")
    assert proc.returncode == 0, proc.stderr
    assert "@getpid: 7\n" in proc.stdout and "@regs_seen: 1\n" in proc.stdout


def test_typed_args_as_a_whole_are_a_record_to_print_store_and_key(workload):
    proc = ours('rawtracepoint:sys_enter /comm == "pbtwork" && args.id == 39/ { @last = args; @[args.id] = count(); '
                '$a = args; @seen[$a.id] = 1; }', f"{workload} getpid 3")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^@last: \{ \.regs = 0x[0-9a-f]+, \.id = 39 \}$", proc.stdout, re.M), proc.stdout
    assert "@[39]: 3\n" in proc.stdout and "@seen[39]: 1\n" in proc.stdout


@needs_bpftrace
def test_program_structs_read_from_a_user_process_like_bpftrace(workload):
    program = (POINT + f" uprobe:{workload}:visit {{ $p = (struct point *)arg0; "
               'printf("%d %s %d %s %d\\n", $p->x, $p->name, $p->next->x, $p->next->name, sizeof(struct point)); }')
    out = same_output(program, f"{workload} struct")
    assert "-5 pt 7 last 24\n" in out


@needs_bpftrace
def test_signed_bitfields_read_as_their_bits_like_bpftrace(workload):
    # flag is 1 and level 6 in the process: as signed 1- and 3-bit fields C would read -1 and -2
    signed = POINT.replace("unsigned int flag", "int flag").replace("unsigned int level", "int level")
    program = signed + (f" uprobe:{workload}:visit {{ $p = (struct point *)arg0; "
                        'printf("%d %d\\n", $p->flag, $p->level); }')
    assert "1 6\n" in same_output(program, f"{workload} struct")
    proc = ours(signed + f" uprobe:{workload}:visit {{ print(*(struct point *)arg0); }}", f"{workload} struct")
    assert proc.returncode == 0, proc.stderr
    assert "{ .x = -5, .flag = 1, .level = 6, .name = pt, .next = 0x" in proc.stdout


def test_struct_values_are_stored_and_printed_with_their_bitfields(workload):
    program = (POINT + f" uprobe:{workload}:visit {{ $p = (struct point *)arg0; @first = *$p; "
               "@by[*$p->next] = count(); $v = *$p; print(($v.level, $v.name)); }")
    proc = ours(program, f"{workload} struct")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "(6, pt)" in lines
    assert "@by[{ .x = 7, .flag = 0, .level = 2, .name = last, .next = 0x0 }]: 1" in lines
    assert any(line.startswith("@first: { .x = -5, .flag = 1, .level = 6, .name = pt, .next = 0x") for line in lines)


@pytest.mark.parametrize("program, message", [
    ("BEGIN { @ = curtask->no_such_member; }",
     "Struct/union of type 'struct task_struct' does not contain a field named 'no_such_member'"),
    ("BEGIN { @ = ((struct no_such_struct *)0)->x; }", 'Cannot resolve unknown type "struct no_such_struct"'),
    ("BEGIN { $t = *curtask; }", "too large to copy onto the BPF stack: read its members"),
    ("rawtracepoint:sched_switch { @ = args.nope; }",
     "Can't find function parameter nope (parameters: preempt, prev, next, prev_state)"),
])
def test_struct_mistakes_name_the_place(program, message):
    proc = ours(program)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr


@needs_bpftrace
@pytest.mark.guest_kernel
def test_fentry_and_fexit_read_typed_arguments_like_kfunc(workload):
    mine = ours('fentry:do_sys_openat2 /comm == "pbtwork"/ { printf("open %s\\n", str(args.filename)); } '
                'fexit:do_sys_openat2 /comm == "pbtwork"/ { printf("ret %d\\n", retval); }',
                f"{workload} open /nonexistent/zz")
    theirs = bpftrace('kfunc:do_sys_openat2 /comm == "pbtwork"/ { printf("open %s\\n", str(args->filename)); } '
                      'kretfunc:do_sys_openat2 /comm == "pbtwork"/ { printf("ret %d\\n", retval); }',
                      f"{workload} open /nonexistent/zz")
    assert mine.returncode == 0, mine.stderr
    # bpftrace 0.17 reads the user-space filename as kernel memory and prints it empty: compare the rest
    assert [line for line in mine.stdout.splitlines() if not line.startswith("open ")] == \
        [line for line in stdout_without_banner(theirs).splitlines() if not line.startswith("open")]
    assert "open /nonexistent/zz\nret -2\n" in mine.stdout


@pytest.mark.guest_kernel
def test_percpu_kaddr_reads_a_per_cpu_kernel_variable():
    proc = ours('BEGIN { $rq = (struct rq *)percpu_kaddr("runqueues", 0); '
                '$this = (struct rq *)percpu_kaddr("runqueues"); '
                'printf("%d %d\\n", $rq->cpu, $this->cpu == cpu); exit(); }')
    assert proc.returncode == 0, proc.stderr
    assert "0 1\n" in proc.stdout
