"""Functions and output behaviours of ``purebpf trace``: time series, join, strerror,
cgroup_path, debugf, bench probes, printf length modifiers and %gr, and more."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from purebpf.trace.gfp import gfp_text
from purebpf.trace.printf import parse_format
from purebpf.trace.tseries import TSeries, text_lines

HERE = Path(__file__).parent
needs_bpftrace = pytest.mark.skipif(not shutil.which("bpftrace"), reason="bpftrace (the oracle) is not installed")
# a made-up clock (@ts) steps 100 ms per sample, as bpftrace's own tseries tests drive it
TSERIES_PROG = ('BEGIN { @ts = (uint64)0; $i = (uint64)0; while ($i < 30) { '
                '@a = tseries($i % 10, 1s, 3AGG); @ts += 100ms; $i++; } clear(@ts); }')


def run(program: str, *extra: str, env: dict | None = None, timeout: int = 30) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "purebpf", "trace", *extra, "-e", program]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def ok(program: str, *extra: str, env: dict | None = None) -> str:
    proc = run(program, *extra, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- tseries -------------------------------------------------------------------------------------


def test_tseries_graph_marks_values_zero_line_and_gaps():
    ts = TSeries([(0, -2), (100_000_000, None), (200_000_000, 2)], signed=True)
    lines = text_lines(ts)
    assert lines[0].split() == ["-2", "2"] and lines[1].startswith("hh:mm:ss.ms  |")
    first, gap, last = lines[2:5]
    assert first.endswith("| -2") and first[13] == "*" and first[13 + 26] == "."
    assert gap.endswith("| -") and "*" not in gap
    assert last.endswith("* 2")
    assert lines[5].strip() == "v" + "_" * 51 + "v"


def test_tseries_flat_unsigned_line_does_not_go_below_zero():
    lines = text_lines(TSeries([(0, 0), (1_000_000_000, 0)]))
    assert lines[0].split() == ["0", "1"] and lines[1].startswith("hh:mm:ss |")
    assert text_lines(TSeries([])) == ["<no data>"]


@pytest.mark.parametrize("agg,value", [("", 9), (', "min"', 0), (', "max"', 9), (', "avg"', 4), (', "sum"', 45)])
def test_tseries_keeps_the_last_intervals_with_each_aggregation(agg, value):
    out = ok(TSERIES_PROG.replace("AGG", agg), "-f", "json", "-q",
             env={"BPFTRACE_DUMMY_TS_MAP": "@ts"})
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    series = next(r for r in records if r["type"] == "tseries")["data"]["@a"]
    # 30 samples, 10 per 1 s interval from t=0; epoch 0 marks an unused slot, so the first interval
    # reads 0 (as in bpftrace)
    assert [p["interval_start"] for p in series] == [f"1970-01-01 00:00:0{s}.000000000" for s in (0, 1, 2)]
    assert [p["value"] for p in series] == [0, value, value]


def test_tseries_text_and_keys():
    out = ok('BEGIN { @ts = (uint64)100ms; @a["x"] = tseries(5, 100ms, 4); @ts += 100ms; '
             '@a["y"] = tseries(-3, 100ms, 4); @ts += 100ms; clear(@ts); }',
             env={"BPFTRACE_DUMMY_TS_MAP": "@ts", "TZ": "UTC"})
    assert "@a[x]:\n" in out and "@a[y]:\n" in out
    assert "00:00:00.100 |" in out and out.count("| -\n") == 1  # x has no value in y's interval


def test_tseries_clear_prints_nothing():
    out = ok("begin { @[1] = tseries(1, 1ms, 5); clear(@); exit() }")
    assert "@" not in out


# -- join, strerror, cgroup_path, signal_name, username --------------------------------------------


def test_join_prints_argv_with_delimiter():
    # -c splits its command at spaces only, as bpftrace does: the quotes reach echo
    out = ok('t:syscalls:sys_enter_execve /comm == "sh"/ { join(args.argv); join(args.argv, ","); exit(); }',
             "-c", "/bin/echo a  'b c'")
    assert "/bin/echo a 'b c'\n" in out and "/bin/echo,a,'b,c'\n" in out


def test_strerror_with_errno_constants():
    assert "Operation not permitted\n" in ok("begin { print(strerror(EPERM)); }", "--include", "errno.h")
    out = ok('#include <errno.h>\nbegin { printf("%s|%d\\n", strerror(ENOENT), EACCES); }')
    assert "No such file or directory|13\n" in out


def test_syscall_numbers_from_syscall_h_without_headers():
    """``#include <sys/syscall.h>`` gives __NR_ and SYS_ names from purebpf's own table."""
    out = ok('#include <sys/syscall.h>\nbegin { printf("%d %d %d\\n", __NR_nanosleep, SYS_getpid, __NR_openat); }')
    assert "35 39 257\n" in out


def test_cgroup_path_names_the_unified_hierarchy():
    if not any(line.split()[2] == "cgroup2" for line in open("/proc/mounts") if len(line.split()) > 2):
        pytest.skip("no cgroup2 mounted")
    out = ok('begin { printf("path: %s\\n", cgroup_path(cgroup)); }')
    assert "unified:/" in out
    out = ok("begin { print(cgroup_path(cgroup)); }", "-f", "json", "-q")
    value = next(json.loads(line) for line in out.splitlines() if '"value"' in line)
    assert "unified:/" in value["data"]


def test_signal_name_and_username():
    out = ok('BEGIN { print(signal_name(2)); print(signal_name(0)); print(signal_name(1024)); '
             'printf("%s\\n", username); }')
    user = pwd.getpwuid(os.getuid()).pw_name
    assert [x for x in out.splitlines() if x][:4] == ["Interrupt", "Unknown signal 0", "N/A", user]


# -- debugf, bench, nsecs(sw_tai) -------------------------------------------------------------------


def test_debugf_writes_the_trace_buffer():
    ok('i:ms:100 { debugf("pbt-debugf %s %d %x", "a", 1, 16); @n = count(); if (@n > 1) { exit(); } }')
    text = Path("/sys/kernel/debug/tracing/trace").read_text(errors="replace")
    assert "bpf_trace_printk: pbt-debugf a 1 10" in text


def test_bench_probes_report_time_and_iterations():
    out = ok('begin { printf("begin\\n"); } bench:a { @a++; } bench:b { @b++; }', "--mode", "bench")
    lines = out.splitlines()
    head = lines.index("Benchmark                                Time(ns)       Iterations")
    assert lines[head + 1] == "-" * 66
    for row, name in zip(lines[head + 2:head + 4], "ab", strict=True):
        fields = row.split()
        assert fields[0] == name and int(fields[1]) > 0 and int(fields[2]) > 0
    out = ok("bench:a { @ = count(); }", "-q", "-f", "json", "--mode", "bench")
    result = next(json.loads(line) for line in out.splitlines() if "benchmark_result" in line)
    assert set(result["data"]["a"]) == {"average", "iters"}


def test_nsecs_sw_tai_is_near_the_tai_clock():
    import time

    out = ok('i:ms:1 { printf("T %llu\\n", nsecs(sw_tai)); exit(); }')
    value = int(next(line for line in out.splitlines() if line.startswith("T ")).split()[1])
    assert abs(value - time.clock_gettime_ns(time.CLOCK_TAI)) < 60 * 1_000_000_000


# -- printf -----------------------------------------------------------------------------------------


def test_length_modifiers_read_c_sizes():
    fmt = parse_format("%hhx %hx %x %jx %d %lu")
    assert fmt.render([0x12345678ABCDEF] * 5 + [-1]) == "ef cdef 78abcdef 12345678abcdef 2024525295 " + str(2**64 - 1)


@needs_bpftrace
def test_length_modifiers_match_bpftrace():
    prog = ('BEGIN { $x = 0x12345678abcdef; printf("%hhx %hx %x %lx %d %u|%hd\\n", $x, $x, $x, $x, $x, $x, $x); '
            'exit(); }')
    theirs = subprocess.run(["bpftrace", "-e", prog], capture_output=True, text=True, timeout=60).stdout
    line = next(x for x in theirs.splitlines() if "|" in x)
    assert line + "\n" in ok(prog)


def test_gfp_flags():
    assert gfp_text(0x1) == "GFP_DMA"
    assert "GFPFlags: GFP_DMA\n" in ok('begin { printf("GFPFlags: %gr\\n", 0x1); }')
    kernel = dict(gfp for gfp in __import__("purebpf.trace.gfp", fromlist=["flag_table"]).flag_table())
    assert gfp_text(kernel["GFP_KERNEL"] | kernel["__GFP_ZERO"]) == "GFP_KERNEL|__GFP_ZERO"


def test_errorf_in_a_macro_shows_where_it_was_expanded():
    proc = run('macro bad() { errorf("Something bad"); } begin { bad(); }')
    assert "stdin:1:15-38: ERROR: Something bad" in proc.stderr
    assert "stdin:1:50-55: ERROR: expanded from" in proc.stderr


def test_assert_names_the_failed_call_and_exits_1_and_a_true_one_goes_on():
    failed = run('BEGIN { $x = 3; assert($x > 5, "x too small"); printf("not here\\n"); }')
    assert failed.returncode == 1 and "not here" not in failed.stdout
    assert "stdin:1:17-46: ERROR: assert failed: x too small" in failed.stderr
    assert "ok\n" in ok('BEGIN { assert(1 == 1, "fine"); printf("ok\\n"); exit(); }')


# -- odds and ends --------------------------------------------------------------------------------


def test_cat_honours_max_cat_bytes():
    out = ok('i:ms:1 { cat("/proc/loadavg"); exit(); }', env={"BPFTRACE_MAX_CAT_BYTES": "1"})
    assert [x for x in out.splitlines() if x][0] == Path("/proc/loadavg").read_text()[0]


def test_block_expression_ending_in_an_aggregation():
    assert "@: 100\n" in ok("begin { @ = { let $a = 100; avg($a) }; }")


def test_write_user_needs_unsafe():
    proc = run('tracepoint:syscalls:sys_enter_openat { write_user(args.filename, "x", 1); }')
    assert proc.returncode != 0
    assert "ERROR: write_user() is unsafe. To use you need the --unsafe flag" in proc.stderr


def test_user_stacks_named_after_the_process_exits(tmp_path):
    exe = tmp_path / "pbtwork"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(HERE / "workload.c")], check=True)
    # the process exits long before the maps print: its mappings were kept while it ran
    out = ok(f"uprobe:{exe}:main {{ @s[ustack] = count(); }}", "-c", f"{exe} sleep 800")
    assert "main+0" in out


def test_usym_is_named_from_its_own_process():
    import ctypes

    from purebpf.trace.values import USym

    addr = ctypes.cast(ctypes.CDLL(None).getpid, ctypes.c_void_p).value
    assert str(USym(addr, os.getpid())).endswith("getpid")  # glibc's own name may be __getpid
    assert str(USym(addr)) == f"0x{addr:x}"  # no process: the address


def test_no_probe_runs_after_exit():
    """exit() stops the probes in the kernel soon after it runs (EXIT_GRACE_NS), not when user space gets
    to the event: a 1 ms timer that exits on its first run counts exactly one run, however busy the machine."""
    for _ in range(3):
        proc = run('i:ms:1 { @runs = count(); exit(); }')
        assert proc.returncode == 0, proc.stderr
        assert "@runs: 1\n" in proc.stdout
