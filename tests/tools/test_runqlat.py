"""runqlat counts one scheduling latency per wakeup of the workload."""

from __future__ import annotations

import json
import re
import time

from tests.tools.harness import WORK_COMM, Paused, one_line_error, run_purebpf, settle, start_oracle, start_purebpf

ROW = re.compile(r"^\s*(\d+) -> (\d+)\s*: (\d+)\s*\|")
SLEEPS = 40


def total(lines: list[str]) -> int:
    return sum(int(m.group(3)) for m in map(ROW.match, lines) if m)


def test_counts_each_wakeup_of_the_process(work):
    target = Paused(work, "sleep", str(SLEEPS), "1000")
    tool = start_purebpf("runqlat", "-p", str(target.pid))
    target.go()
    settle()
    lines = tool.stop().splitlines()
    assert lines[0] == "Tracing run queue latency... Hit Ctrl-C to end."
    assert "     usecs               : count    distribution" in lines
    assert SLEEPS <= total(lines) <= SLEEPS + 15, lines


def test_per_process_json_in_milliseconds(work):
    target = Paused(work, "sleep", "10", "1000")
    tool = start_purebpf("runqlat", "-P", "-m", "-j", "-p", str(target.pid))
    target.go()
    settle()
    (record,) = [json.loads(x) for x in tool.stop().splitlines()]
    assert record["pid"] == target.pid and record["comm"] in ("sh", WORK_COMM) and record["unit"] == "msecs"
    assert record["total"] >= 10 and record["buckets"][0]["low"] == 0


def test_interval_and_count_end_on_their_own():
    start = time.monotonic()
    res = run_purebpf("runqlat", "-T", "1", "2")
    assert res.returncode == 0 and time.monotonic() - start < 10
    assert res.stdout.count("usecs               : count") == 2
    assert len(re.findall(r"^\d\d:\d\d:\d\d$", res.stdout, re.M)) == 2


def test_same_events_as_libbpf_tools(work):
    target = Paused(work, "sleep", str(SLEEPS), "2000")
    oracle = start_oracle("runqlat", "-p", str(target.pid))
    tool = start_purebpf("runqlat", "-p", str(target.pid))
    target.go()
    settle()
    theirs, ours = oracle.stop().splitlines(), tool.stop().splitlines()
    assert ours[:3] == theirs[:3]  # banner, blank line, column header
    assert abs(total(ours) - total(theirs)) <= 3 and total(ours) >= SLEEPS


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("runqlat", "0"))
    one_line_error(run_purebpf("runqlat", "soon"))
    one_line_error(run_purebpf("runqlat", "-p", "999999"))
    one_line_error(run_purebpf("runqlat", "-P", "-L"))
