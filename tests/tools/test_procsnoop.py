"""exitsnoop, killsnoop and sigsnoop see exactly what the workload does."""

from __future__ import annotations

import json
import signal

from tests.tools.harness import (
    WORK_COMM,
    Paused,
    one_line_error,
    run_purebpf,
    settle,
    start_oracle,
    start_purebpf,
    workload,
)


def by_pid(lines: list[str], pid: int, col: int = 1) -> list[list[str]]:
    return [ln.split() for ln in lines[1:] if ln.split()[col:col + 1] == [str(pid)]]


def test_exitsnoop_codes_and_signals(work):
    tool = start_purebpf("exitsnoop")
    ok, code, killed = Paused(work, "exit", "0"), Paused(work, "exit", "3"), Paused(work, "die", "9")
    for p in (ok, code, killed):
        p.go()
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"]
    (row_ok,) = [ln for ln in lines if ln.split()[1:2] == [str(ok.pid)]]
    (row_code,) = [ln for ln in lines if ln.split()[1:2] == [str(code.pid)]]
    (row_killed,) = [ln for ln in lines if ln.split()[1:2] == [str(killed.pid)]]
    assert row_ok.split()[0] == WORK_COMM and row_ok.endswith(" 0")
    assert row_code.endswith(" code 3")
    assert row_killed.endswith(" signal 9 (Killed)")
    assert row_code.split()[3] == str(code.pid)  # TID of the leader


def test_exitsnoop_failed_only_pid_json(work):
    target = Paused(work, "exit", "7")
    tool = start_purebpf("exitsnoop", "-x", "-j", "-p", str(target.pid))
    workload(work, "exit", "5", check=False)  # another process: filtered out
    target.go()
    settle()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    assert [(r["pid"], r["exit_code"], r["signal"]) for r in records] == [(target.pid, 7, 0)]


def test_exitsnoop_same_rows_as_libbpf_tools(work):
    oracle, tool = start_oracle("exitsnoop"), start_purebpf("exitsnoop")
    procs = [Paused(work, "exit", "2"), Paused(work, "die", "15"), Paused(work, "exit", "0")]
    for p in procs:
        p.go()
    settle()
    theirs, ours = oracle.stop().splitlines(), tool.stop().splitlines()

    def normal(lines):  # PIDs and age masked: PCOMM and EXIT_CODE
        return [" ".join([r[0], *r[5:]]) for p in procs for r in by_pid(lines, p.pid)]

    assert normal(ours) == normal(theirs) and len(normal(ours)) == 3
    assert ours[0].split() == theirs[0].split()


def test_killsnoop_sees_kills_and_failures(work):
    tool = start_purebpf("killsnoop")
    target = Paused(work, "kill", "3", "15")
    target.go()
    settle()
    rows = by_pid(tool.stop().splitlines(), target.pid)
    # three SIGTERMs to children that succeed, then kill(999999) failing with -ESRCH
    assert [(r[2], r[3], r[5]) for r in rows if r[4] != "999999"] == [(WORK_COMM, "15", "0")] * 3
    assert [(r[3], r[5]) for r in rows if r[4] == "999999"] == [("15", "-3")]


def test_killsnoop_failed_only_and_names(work):
    tool = start_purebpf("killsnoop", "-x", "-n", "-s", "10")
    target = Paused(work, "kill", "2", "10")
    other = Paused(work, "kill", "1", "12")
    target.go()
    other.go()
    settle()
    lines = tool.stop().splitlines()
    assert [(r[3], r[4], r[5]) for r in by_pid(lines, target.pid)] == [("SIGUSR1", "999999", "-3")]
    assert by_pid(lines, other.pid) == []


def test_sigsnoop_sees_generated_signals(work):
    tool = start_purebpf("sigsnoop", "-s", str(int(signal.SIGUSR2)))
    target = Paused(work, "kill", "2", "12")
    target.go()
    settle()
    rows = by_pid(tool.stop().splitlines(), target.pid)
    assert len(rows) == 2 and all(r[3] == "12" and r[5] == "0" for r in rows)


def test_killsnoop_same_rows_as_libbpf_tools(work):
    oracle, tool = start_oracle("killsnoop"), start_purebpf("killsnoop")
    target = Paused(work, "kill", "2", "10")
    target.go()
    settle()
    theirs, ours = oracle.stop().splitlines(), tool.stop().splitlines()

    def normal(lines):  # TIME and PIDs masked: COMM SIG RESULT, and whether the target was the bad PID
        return [(r[2], r[3], r[4] == "999999", r[5]) for r in by_pid(lines, target.pid)]

    assert normal(ours) == normal(theirs) and len(normal(ours)) == 3
    assert ours[0].split() == theirs[0].split()


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("exitsnoop", "-p", "999999"))
    one_line_error(run_purebpf("killsnoop", "-s", "99"))
    one_line_error(run_purebpf("sigsnoop", "-p", "x"))
