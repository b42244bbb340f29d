"""Semantics of current bpftrace that purebpf trace follows: block scoping of
variables, macros with type arguments, records, addresses of variables, the
config block, run-time warnings, user-space probes.  Programs run for real
(BEGIN/END/self through BPF_PROG_TEST_RUN, others attached) and print what
current bpftrace prints."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from purebpf.trace.compiler import compile_program
from purebpf.trace.location import ProgramError
from purebpf.trace.runtime import Tracer

from .test_language import error


def run(program: str, **kw) -> tuple[str, int, str]:
    """Output, exit code and the compile-time warnings of ``program``."""
    out = io.StringIO()
    compiled = compile_program(program, **kw)
    with Tracer(compiled, out=out) as tracer:
        code = tracer.run()
    return out.getvalue(), code, compiled.warnings


def lines(program: str, **kw) -> list[str]:
    return [line for line in run(program, **kw)[0].splitlines() if line]


def cli(program: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purebpf", "trace", *extra, "-e", program],
                          capture_output=True, text=True, timeout=60)


CASES = [
    # variables belong to the block that first assigns them; parentheses are optional
    ("begin { if 1 { $x = 1; } if 1 { let $x; if $x { $x = 5; } print($x); } }", ["0"]),
    ("begin { @a[1] = 1; if 1 { $x = 1; print(($x)); } for $kv : @a { $x = 2; print(($x)); } let $x; "
     "print(($x)); clear(@a); }", ["1", "2", "0"]),
    # the loop body reads a variable of the probe through the callback's context
    ("begin { $x = 1; @a[1] = 1; for ($kv : @a) { print(($x, $kv.0, $kv.1)); } clear(@a); }", ["(1, 1, 1)"]),
    # an if-expression can be the value of a block, nested
    ("begin { let $x = 1; let $y = 2; print(if ($x) { if ($y) { if ($x) { $x } else { $y } } else { 3 } } "
     "else { 0 }); }", ["1"]),
    # constant tuple indices are folded
    ("begin { $a = (1, 2, 3); print($a[1 + 1]); }", ["3"]),
    # records match fields by name; fields are evaluated in the order written
    ('begin { $a = (foo={ printf("a"); 1 }, bar={ printf("b"); 2 }); $a = (bar={ printf("c"); 1 }, '
     'foo={ printf("d\\n"); 2 }); print($a); }', ["abcd", "{ .foo = 2, .bar = 1 }"]),
    # macros: internal variables, typeof of an argument, type arguments
    ("macro add(x) { let $y: typeof(x); if (true) { $y = 1 } x + $y } begin { print(add(1)); }", ["2"]),
    ("macro m(t) { sizeof(t) + 2 } macro n(z) { print(m(typeof(z))); } begin { n(typeof(uint64*)); }", ["10"]),
    ("macro s(a, b) { sizeof(a[2]) + sizeof(b*) } begin { print(s(typeof(uint64*), typeof(uint8))); }", ["24"]),
    # probetype and config() builtins, with their __builtin_ spellings
    ("begin { if (__builtin_probetype == probetype()) { print(probetype); } }", ["special"]),
    ('begin { if (config().max_strlen == __builtin_config.max_strlen) { printf("match\\n"); } }', ["match"]),
    # &$x: read back through the pointer, for integers, tuples and strings
    ("begin { $a = 7; $b = &$a; print(*$b); }", ["7"]),
    ('begin { $a = (1, "hello", 2); print(*(&$a)); }', ["(1, hello, 2)"]),
    ('begin { $a = "hello"; $b = (int8 *)&$a; printf("%c %c\\n", *$b, *++$b); }', ["h e"]),
    # division by zero gives 1 (with a warning, below)
    ("begin { @z = 0; print(10 / @z); print(10 % @z); clear(@z); }", ["1", "1"]),
]


@pytest.mark.parametrize(("program", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_program_prints_what_current_bpftrace_prints(program, expected):
    assert lines(program) == expected


def test_scoped_variable_is_unknown_outside_its_block():
    assert "Undefined or undeclared variable: $x" in error("begin { if 1 { $x = 1; } print($x); }")


def test_unroll_count_below_one_is_an_error():
    assert "unroll minimum value is 1" in error("begin { $a = 1; unroll (0) { $a = 2; } }")


def test_statement_after_exit_is_reported_unreachable():
    assert "WARNING: Unreachable statement" in run("begin { @x = 1; exit(); @x = 2; }")[2]


def test_config_block():
    assert "ERROR: bad_config: not a known configuration option" in error("config = { bad_config=raw } begin {}")
    assert "Invalid value for license. Found: Potato" in error('config = { license="Potato" } begin {}')
    out, _, _ = run('config = { print_maps_on_exit=0 } begin { @["test"] = count(); @s = 1; }')
    assert "@" not in out
    out, _, warnings = run("config = { missing_probes=warn } tracepoint:syscalls:sys_enter_getppid,"
                           "tracepoint:nonsense:nonsense { exit(); } begin { exit(); }")
    assert "WARNING: No matches for tracepoint nonsense:nonsense. Skipping." in warnings


def test_missing_include_is_reported_like_bpftrace():
    assert str(error("#include <lol/no.h>\nbegin { }")) == "definitions.h:2:10: fatal error: 'lol/no.h' file not found"


def test_getopt_bad_integer_names_the_option_not_a_place():
    with pytest.raises(ProgramError) as exc:
        compile_program('begin { print(getopt("aa", 10)); }', named={"aa": "False"})
    assert str(exc.value) == "ERROR: program command line option --aa invalid integer (value: False)"


def test_run_time_warnings():
    proc = cli("begin { @z = 0; print(10 / @z); }")
    assert "WARNING: Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used as " \
           "the result." in proc.stderr
    proc = cli("let @a = hash(1); begin { @a[1] = 1; @a[2] = 2; }")
    assert "WARNING: Map full; can't update element." in proc.stderr
    proc = cli('begin { @[1] = 1; printf("%d\\n", @[2]); }', "-k")
    assert "stdin:1:34-38: WARNING: Can't lookup map element because it does not exist.\n" \
           "Additional Info - helper: map_lookup_elem, retcode: 0" in proc.stderr


def test_lru_map_declaration_evicts():
    assert lines("let @a = percpulruhash(1); begin { @a[1] = count(); @a[2] = count(); }") == ["@a[2]: 1"]


def test_self_signal_probes_run_in_order_and_sigint_exits_cleanly():
    prog = 'self:signal:SIGUSR1 { printf("first"); } self:signal:SIGUSR1 { printf(" second\\n"); exit(); }'
    proc = subprocess.Popen([sys.executable, "-m", "purebpf", "trace", "-e", prog], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ,
                                                                         __BPFTRACE_NOTIFY_PROBES_ATTACHED="1"))
    try:
        assert proc.stdout.readline().strip() == "__BPFTRACE_NOTIFY_PROBES_ATTACHED"
        proc.send_signal(signal.SIGUSR1)
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert out.startswith("first second\n") and proc.returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "purebpf", "trace", "-e", 'end { printf("bye\\n"); }'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert "bye" in out and proc.returncode == 0


def test_probe_counts_in_scientific_notation():
    compiled = compile_program('software:cpu:1e6 { exit(); }')
    assert compiled.probes[0].target.period == 1_000_000


def test_uprobe_on_an_address_that_is_not_code():
    proc = cli("uprobe:/bin/bash:10 { exit(); }")
    assert proc.returncode == 1 and "ERROR: Could not resolve address: /bin/bash:0xa" in proc.stderr
