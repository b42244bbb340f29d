"""strlen(), ==, strncmp() and strcontains() on strings of max_strlen 1024 and more: run-time-sized ones run in
bpf_loop callbacks, so what the verifier and the program size pay does not grow with the strings' size."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from purebpf.trace.compiler import compile_program

PROBE = "tracepoint:syscalls:sys_enter_openat"
FORTY = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
PREFIX = f"/nonexistent/{FORTY}/{FORTY}/"  # 95 characters: strncmp()s of 95 and 96 look past it
A, B, C = PREFIX + "a", PREFIX + "b", "/nonexistent/other"
# every operation, each in its run-time-sized form: @last holds the file the previous event opened
OPERATIONS = (
    f'{PROBE} /comm == "pbtwork" && str(args.filename, 5) == "/non"/ {{ $s = str(args.filename); '
    'printf("%d %d %d %d %d %d %d %d %d %d %d\\n", strlen(str(args.filename)), strlen($s), '
    f'str(args.filename) == @last, $s != @last, strcontains(str(args.filename), "{FORTY}"), '
    'strcontains(str(args.filename), str(args.filename + 13)), '
    'strcontains(str(args.filename + 13), str(args.filename)), '
    'strncmp(str(args.filename), @last, 95), strncmp($s, @last, 96), strcontains(str(args.filename), @last), '
    'strcontains(str(args.filename), "D/b")); '
    "@last = str(args.filename); }"
)


def run(program: str, command: str, **env: str) -> list[str]:
    args = [sys.executable, "-m", "purebpf", "trace", "-e", program, "-c", command]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line and not line.startswith(("Attach", "@last"))]


@pytest.mark.parametrize("max_strlen", ["1024", "9999"])
def test_run_time_string_operations_in_one_probe(workload, max_strlen):
    out = run(OPERATIONS, f"{workload} open {A} {A} {B} {C}", BPFTRACE_MAX_STRLEN=max_strlen)
    assert out == [
        # strlen x2, == and != the previous, contains the literal, the tail, not the whole in the tail,
        # strncmp 95 and 96 with the previous, contains the previous (the first: an empty one), ends with "D/b"
        f"{len(A)} {len(A)} 0 1 1 1 0 1 1 1 0",
        f"{len(A)} {len(A)} 1 0 1 1 0 0 0 1 0",
        f"{len(B)} {len(B)} 0 1 1 1 0 0 1 0 1",
        f"{len(C)} {len(C)} 0 1 0 1 0 1 1 0 0",
    ]


def size_of(max_strlen: int) -> int:
    program = compile_program(f"config = {{ max_strlen = {max_strlen} }} " + OPERATIONS)
    return sum(len(p.insns) for p in program.probes)


def test_the_program_does_not_grow_with_max_strlen():
    # a little more at 9999: scratch frames past 32 KiB reach some slots with an add before and after
    small, big = size_of(1024), size_of(9999)
    assert small < 3000 and big < small * 1.2


@pytest.mark.parametrize("max_strlen", ["30", "100"])  # one compare per byte in line, and the helper's count
def test_strlen_at_and_past_the_string_size(workload, max_strlen):
    n = int(max_strlen)
    names = [f"/nonexistent/{'x' * (length - 13)}" for length in (n - 1, n, n + 1, n + 40)]
    program = (f'{PROBE} /comm == "pbtwork" && str(args.filename, 5) == "/non"/ {{ $s = str(args.filename); '
               'printf("%d %d %d\\n", strlen(str(args.filename)), strlen($s), len($s)); }')
    out = run(program, f"{workload} open {' '.join(names)}", BPFTRACE_MAX_STRLEN=max_strlen)
    assert out == [f"{n - 1} {n - 1} {n - 1}"] + [f"{n} {n} {n}"] * 3


def test_string_equality_between_different_sizes(workload):
    """str(p, n) keeps n - 1 characters: equal to the whole string only where the file's name is that short."""
    program = (f'{PROBE} /comm == "pbtwork" && str(args.filename, 5) == "/non"/ {{ '
               'printf("%d %d\\n", str(args.filename, 80) == str(args.filename), '
               'str(args.filename) == str(args.filename, 150)); }')
    names = [f"/nonexistent/{'z' * (length - 13)}" for length in (16, 100, 160)]
    out = run(program, f"{workload} open {' '.join(names)}", BPFTRACE_MAX_STRLEN="200")
    assert out == ["1 1", "0 1", "0 0"]


@pytest.mark.parametrize("max_strlen", ["40", "100", "1024"])
def test_strcontains_up_to_the_end_of_a_cut_string(workload, max_strlen):
    """A literal, then run-time needles, at the last places of the haystack: the name of exactly max_strlen
    characters keeps its "xyz", the longer one loses its last character to the cut.  A needle of 3
    characters (str(p, 4)) is shorter than what the loop compares a call."""
    n = int(max_strlen)
    names = [f"/nonexistent/{'w' * (length - 16)}xyz" for length in (n, n + 1)]
    program = (f'{PROBE} /comm == "pbtwork" && str(args.filename, 5) == "/non"/ {{ '
               'printf("%d %d %d %d\\n", strcontains(str(args.filename), "xyz"), strcontains(str(args.filename), '
               f'"wxy"), strcontains(str(args.filename), str(args.filename + {n - 3})), '
               f'strcontains(str(args.filename), str(args.filename + {n - 2}, 4))); }}')
    out = run(program, f"{workload} open {' '.join(names)}", BPFTRACE_MAX_STRLEN=max_strlen)
    assert out == ["1 1 1 1", "0 1 0 0"]
