"""Strings as current bpftrace sizes them: max_strlen (config block, BPFTRACE_MAX_STRLEN), str(p, n) counting
the NUL, the truncation trailer, and strings larger than the BPF stack (a scratch frame in map memory)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from purebpf.trace.compiler import compile_program
from purebpf.trace.location import ProgramError

PROBE = "tracepoint:syscalls:sys_enter_openat"
LONG = "/" + "X" * 5555  # longer than the BPF stack: only a scratch frame holds it


def run(program: str, command: str, **env: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "purebpf", "trace", "-e", program, "-c", command]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, **env})


def lines(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line and not line.startswith("Attach")]


def opened(start: str) -> str:
    """The workload opening a file whose path starts with ``start`` (not the loader's own opens)."""
    return f'tracepoint:syscalls:sys_enter_openat /comm == "pbtwork" && str(args.filename, 3) == "{start}"/ '


def test_max_strlen_from_the_config_block_and_the_environment(monkeypatch):
    assert compile_program("begin { }").config.max_strlen == 1024
    assert compile_program("config = { max_strlen = 100 } begin { }").config.max_strlen == 100
    monkeypatch.setenv("BPFTRACE_MAX_STRLEN", "200")
    program = compile_program('config = { max_strlen = 100 } begin { $s = str(0); }')
    assert program.config.max_strlen == 200
    monkeypatch.setenv("BPFTRACE_STR_TRUNC_TRAILER", "~")
    assert compile_program("begin { }").config.str_trunc_trailer == "~"


@pytest.mark.parametrize("program", ['config = { max_strlen = "x" } begin { }',
                                     "config = { max_strlen = 0 } begin { }"])
def test_a_bad_max_strlen_is_an_error(program):
    with pytest.raises(ProgramError, match="max_strlen"):
        compile_program(program)


def test_str_length_counts_the_nul():
    sizes = {}
    for text in ("str(args.filename, 5)", "str(args.filename)", "str(args.filename, 100000)", 'str("hello", 3)'):
        program = compile_program(f"config = {{ max_strlen = 16 }} {PROBE} {{ @[{text}] = 1; }}")
        sizes[text] = program.maps["@"].key.size
    assert list(sizes.values()) == [5, 17, 17, 3]


def test_explicit_truncation_keeps_n_minus_one_characters_without_trailer(workload):
    out = lines(run(opened("/n") + "{ print(str(args.filename, 5)); $n = (uint16)4; print(str(args.filename, $n + 1)); "
                    "print(str(args.filename)); exit(); }", f"{workload} open /nonexistent/zztest"))
    assert out == ["/non", "/non", "/nonexistent/zztest"]


def test_strings_cut_at_max_strlen_get_the_trailer(workload):
    program = opened("/n") + '{ printf("P: %s\\n", str(args.filename)); exit(); }'
    assert lines(run(program, f"{workload} open /nonexistent/zz", BPFTRACE_MAX_STRLEN="5")) == ["P: /none.."]
    assert lines(run(program, f"{workload} open /nonexistent/zz", BPFTRACE_MAX_STRLEN="5",
                     BPFTRACE_STR_TRUNC_TRAILER="_x")) == ["P: /none_x"]
    configured = "config = { max_strlen = 8; str_trunc_trailer = \"!\" } " + program
    assert lines(run(configured, f"{workload} open /nonexistent/zz")) == ["P: /nonexis!"]
    assert lines(run(program, f"{workload} open /nop", BPFTRACE_MAX_STRLEN="5")) == ["P: /nop"]


def test_strings_larger_than_the_stack_in_printf_print_maps_tuples_and_loops(workload):
    program = opened("/X") + ('{ printf("%s\\n", str(args.filename)); print(str(args.filename)); '
                        "print((1, (2, str(args.filename)))); @m[str(args.filename)] = str(args.filename); "
                        "for ($kv : @m) { print($kv); } @c[str(args.filename)] = count(); exit(); }")
    out = lines(run(program, f"{workload} open {LONG}", BPFTRACE_MAX_STRLEN="9999"))
    assert out[:4] == [LONG, LONG, f"(1, (2, {LONG}))", f"({LONG}, {LONG})"]
    assert f"@c[{LONG}]: 1" in out and f"@m[{LONG}]: {LONG}" in out


def test_big_strings_compile_to_a_scratch_frame_and_small_ones_do_not():
    big = compile_program(f"config = {{ max_strlen = 4000 }} {PROBE} {{ @[str(args.filename)] = count(); }}")
    small = compile_program(f"config = {{ max_strlen = 64 }} {PROBE} {{ @[str(args.filename)] = count(); }}")
    assert list(big.scratch) == ["scratch0"] and big.scratch["scratch0"] >= 4001
    assert small.scratch == {}


def test_records_put_the_biggest_string_last_and_decode_in_written_order(workload):
    from purebpf.trace.codegen.base import record_order
    from purebpf.trace.types import INT64, TType

    assert record_order([TType("string", 1025), INT64, TType("string", 1025), INT64]) == [0, 1, 3, 2]
    assert record_order([INT64, TType("string", 16)]) == [0, 1]  # small strings stay where they are
    # records that end at a string's NUL: the string first, between and last; two 1 KiB strings in one printf
    program = opened("/n") + ('{ printf("%s|%d|%s|%s\\n", str(args.filename), 7, str(args.filename, 4), "lit"); '
                              'printf("%d|%s|%d|%s|%s\\n", 1, str(args.filename), 2, str(args.filename), comm); '
                              '$s = str(args.filename); print($s); printf("%s|%s|\\n", $s, str(0)); exit(); }')
    out = lines(run(program, f"{workload} open /nonexistent/zztest"))
    assert out == ["/nonexistent/zztest|7|/no|lit", "1|/nonexistent/zztest|2|/nonexistent/zztest|pbtwork",
                   "/nonexistent/zztest", "/nonexistent/zztest||"]


def test_kilobyte_strings_in_keys_tuples_comparisons_and_json(workload):
    """The default max_strlen (1024): several 1025-byte strings in one probe pass the verifier (comparisons
    over run-time sizes run in bpf_loop callbacks: see test_string_ops.py)."""
    s = "str(args.filename)"
    program = (opened("/n") + f'{{ @k[{s}, comm] = count(); @v = ({s}, {s}); @eq = {s} == {s}; '
               f'@lit = {s} == "/nonexistent/zz"; @n = strncmp({s}, "/nonex", 6); @len = strlen({s}); exit(); }} '
               + opened("/n") + f'{{ @in = strcontains({s}, "exist"); @h[{s}] = hist(1); exit(); }}')
    out = lines(run(program, f"{workload} open /nonexistent/zz"))
    assert "@k[/nonexistent/zz, pbtwork]: 1" in out and "@v: (/nonexistent/zz, /nonexistent/zz)" in out
    assert {"@eq: true", "@lit: true", "@n: 0", "@len: 15", "@in: true", "@h[/nonexistent/zz]:"} <= set(out)
    proc = run(opened("/n") + '{ printf("%s %d\\n", str(args.filename), 3); exit(); }',
               f"{workload} open /nonexistent/zz")
    json_out = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-f", "json", "-e",
                               opened("/n") + '{ printf("%s %d\\n", str(args.filename), 3); exit(); }', "-c",
                               f"{workload} open /nonexistent/zz"], capture_output=True, text=True, timeout=60)
    assert lines(proc) == ["/nonexistent/zz 3"]
    assert '{"type": "printf", "data": "/nonexistent/zz 3\\n"}' in json_out.stdout
