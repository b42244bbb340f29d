"""syscount counts exactly the syscalls the workload makes."""

from __future__ import annotations

import json

from tests.tools.harness import WORK_COMM, Paused, one_line_error, run_purebpf, settle, start_oracle, start_purebpf

N = 500


def counts(lines: list[str]) -> dict[str, int]:
    """SYSCALL -> COUNT rows of a summary."""
    out = {}
    for line in lines:
        cols = line.split()
        if len(cols) >= 2 and cols[1].isdigit() and not line.startswith("["):
            out[cols[0]] = int(cols[1])
    return out


def traced(*flags: str, work: str, tool: str = "purebpf") -> list[str]:
    target = Paused(work, "syscalls", str(N))
    start = start_purebpf if tool == "purebpf" else start_oracle
    run = start("syscount", "-p", str(target.pid), *flags)
    target.go()
    settle()
    return run.stop().splitlines()


def test_counts_each_syscall_of_the_process(work):
    lines = traced(work=work)
    assert lines[0] == "Tracing syscalls, printing top 10... Ctrl+C to quit."
    assert lines[2].split() == ["SYSCALL", "COUNT"]
    got = counts(lines)
    assert got["getppid"] == N and got["close"] >= N


def test_failures_and_errno_filters(work):
    got = counts(traced("-x", work=work))
    assert got["close"] == N and "getppid" not in got
    got = counts(traced("-e", "EBADF", work=work))
    assert got == {"close": N}


def test_per_process_with_latency_json(work):
    records = [json.loads(x) for x in traced("-P", "-L", "-j", work=work)]
    (mine,) = records
    assert mine["comm"] == WORK_COMM and mine["count"] >= 2 * N and mine["total_ns"] > 0


def test_latency_columns(work):
    lines = traced("-L", "-m", "-T", "3", work=work)
    assert lines[2].split() == ["SYSCALL", "COUNT", "TIME", "(ms)"]
    assert len(lines) == 3 + 3 + 1 and float(lines[3].split()[2]) >= 0


def test_same_counts_as_libbpf_tools(work):
    target = Paused(work, "syscalls", str(N))
    oracle = start_oracle("syscount", "-p", str(target.pid))
    tool = start_purebpf("syscount", "-p", str(target.pid))
    target.go()
    settle()
    theirs, ours = counts(oracle.stop().splitlines()), counts(tool.stop().splitlines())
    assert ours["getppid"] == theirs["getppid"] == N
    assert ours["close"] == theirs["close"]


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("syscount", "-e", "EBOGUS"))
    one_line_error(run_purebpf("syscount", "-i", "0"))
    one_line_error(run_purebpf("syscount", "-p", "999999"))
