"""hardirqs and softirqs count what /proc/interrupts and /proc/softirqs count
in the same window, and agree with the libbpf-tools binaries."""

from __future__ import annotations

import json
import os
import re

from tests.tools.harness import one_line_error, run_purebpf, settle, start_oracle, start_purebpf

ROW = re.compile(r"^\s*\d+ -> \d+\s*: (\d+)\s*\|")


def interrupts() -> dict[str, int]:
    """Handler name -> interrupts so far, summed over CPUs (one handler per line here)."""
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        out = {}
        for line in f:
            cols = line.split()
            if cols and cols[0].rstrip(":").isdigit() and len(cols) > ncpu + 1:
                out[cols[-1]] = out.get(cols[-1], 0) + sum(int(c) for c in cols[1:ncpu + 1])
    return out


def softirq_counts() -> dict[str, int]:
    with open("/proc/softirqs") as f:
        f.readline()
        return {cols[0].rstrip(":").lower(): sum(map(int, cols[1:])) for cols in map(str.split, f)}


def make_io(path, rounds: int = 20) -> None:
    """Disk writes that complete with interrupts (and block softirqs)."""
    for i in range(rounds):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"x" * 4096 * (i % 20 + 1))
        os.fsync(fd)
        os.close(fd)


def test_hardirqs_counts_every_interrupt(tmp_path):
    tool = start_purebpf("hardirqs", "-C", "-j")
    before = interrupts()
    make_io(tmp_path / "f")
    after = interrupts()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    seen = {r["hardirq"]: r["count"] for r in records}
    delta = {name: after[name] - before.get(name, 0) for name in after if after[name] > before.get(name, 0)}
    assert delta and set(seen) <= set(after), (seen, delta)
    for name, n in delta.items():  # the tool's window holds the snapshot window
        assert seen.get(name, 0) >= n, (name, seen, delta)


def test_hardirqs_time_and_histograms(tmp_path):
    tool = start_purebpf("hardirqs", "-d", "-N", "-T")
    make_io(tmp_path / "f")
    settle()
    lines = tool.stop().splitlines()
    assert lines[0] == "Tracing hard irq event time... Hit Ctrl-C to end."
    assert re.fullmatch(r"\d\d:\d\d:\d\d", lines[2]) and lines[3].startswith("hardirq = ")
    assert "     nsecs               : count    distribution" in lines and sum(
        int(m.group(1)) for m in map(ROW.match, lines) if m) > 0


def recursion_misses(prog_name: str) -> int:
    """Runs the kernel skipped because another BPF program was running on that CPU (a softirq can
    arrive in the middle of one): the kernel counts them, so the test can account for them."""
    from purebpf.programs.info import program_info
    from purebpf.sys import FD
    from purebpf.sys.objects import fd_by_id, iter_ids

    total = 0
    for prog_id in iter_ids("prog"):
        fd = FD(fd_by_id("prog", prog_id))
        try:
            info = program_info(fd.raw)
        finally:
            fd.close()
        if info.name == prog_name:
            total += info.recursion_misses
    return total


def test_softirqs_counts_every_softirq(tmp_path):
    tool = start_purebpf("softirqs", "-C", "-j")
    try:
        before = softirq_counts()
        make_io(tmp_path / "f")
        after = softirq_counts()
        missed = recursion_misses("softirq_count")
    finally:
        output = tool.stop()
    seen = {r["softirq"]: r["count"] for r in map(json.loads, output.splitlines())}
    delta = {k: after[k] - before[k] for k in after if after[k] > before[k]}
    assert delta
    for name, n in delta.items():
        assert seen.get(name, 0) + missed >= n, (name, seen, delta, missed)


def test_same_irqs_as_libbpf_tools(tmp_path):
    for tool in ("hardirqs", "softirqs"):
        oracle, ours = start_oracle(tool, "-d"), start_purebpf(tool, "-d")
        # the two tools start and stop a moment apart while other disk traffic goes on: make
        # the workload's interrupts dominate that difference
        make_io(tmp_path / "f", rounds=200)
        settle()
        theirs, mine = oracle.stop().splitlines(), ours.stop().splitlines()
        assert mine[0] == theirs[0]

        def totals(lines):
            out, name = {}, None
            for ln in lines:
                if ln.startswith(("hardirq = ", "softirq = ")):
                    name = ln.split(" = ", 1)[1]
                elif (m := ROW.match(ln)) and name:
                    out[name] = out.get(name, 0) + int(m.group(1))
            return out

        a, b = totals(mine), totals(theirs)
        busiest = max(b, key=b.get)  # the disk's: the background's others vary with the moment each started
        assert b[busiest] >= 20 and abs(a.get(busiest, 0) - b[busiest]) <= 0.2 * b[busiest] + 3, (tool, a, b)


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("hardirqs", "-C", "-d"))
    one_line_error(run_purebpf("softirqs", "0"))
    one_line_error(run_purebpf("hardirqs", "-c", "/nonexistent/cgroup"))
