"""cpudist and offcputime see each sleep of the workload; the same as libbpf-tools."""

from __future__ import annotations

import json
import re

from tests.tools.harness import WORK_COMM, Paused, one_line_error, run_purebpf, settle, start_oracle, start_purebpf

ROW = re.compile(r"^\s*(\d+) -> (\d+)\s*: (\d+)\s*\|")
SLEEPS = 40


def buckets(lines: list[str]) -> dict[int, int]:
    return {int(m.group(1)): int(m.group(3)) for m in map(ROW.match, lines) if m and int(m.group(3))}


def test_cpudist_counts_each_stint(work):
    target = Paused(work, "sleep", str(SLEEPS), "1000")
    on, off = start_purebpf("cpudist", "-p", str(target.pid)), start_purebpf("cpudist", "-O", "-P", "-j",
                                                                             "-p", str(target.pid))
    target.go()
    settle()
    lines = on.stop().splitlines()
    assert lines[0] == "Tracing on-CPU time... Hit Ctrl-C to end."
    # each sleep ends a stint on the CPU; exec and exit add a few, and preemption on a loaded machine more
    assert SLEEPS <= sum(buckets(lines).values()) <= SLEEPS + SLEEPS // 4, lines
    (record,) = [json.loads(x) for x in off.stop().splitlines()]
    # the name is taken at the process's first stint: the waiting `sh` if it was switched out between its
    # wake-up and the exec (a loaded machine), the workload otherwise, as in libbpf-tools' cpudist -P
    assert record["pid"] == target.pid and record["comm"] in (WORK_COMM, "sh")
    # each 1 ms sleep is 1 to 2 ms off the CPU (more on a loaded machine)
    assert SLEEPS <= record["total"] <= SLEEPS + 2
    assert sum(b["count"] for b in record["buckets"] if b["low"] >= 1024) >= SLEEPS - 2, record


def test_cpudist_off_cpu_as_libbpf_tools(work):
    target = Paused(work, "sleep", str(SLEEPS), "1000")
    oracle = start_oracle("cpudist", "-O", "-p", str(target.pid))
    ours = start_purebpf("cpudist", "-O", "-p", str(target.pid))
    target.go()
    settle()
    theirs, mine = oracle.stop().splitlines(), ours.stop().splitlines()
    assert mine[:3] == theirs[:3]
    assert sum(buckets(mine).values()) == sum(buckets(theirs).values()) >= SLEEPS


def folded_total(lines: list[str], frame: str) -> int:
    return sum(int(ln.rsplit(" ", 1)[1]) for ln in lines if ln.startswith(WORK_COMM + ";") and frame in ln)


def test_offcputime_folded_stacks_add_up(work, tmp_path):
    target = Paused(work, "sleep", str(SLEEPS), "2000")
    tool = start_purebpf("offcputime", "-f", "-p", str(target.pid))
    multi = start_purebpf("offcputime", "-p", str(target.pid), "--svg", str(tmp_path / "off.svg"))
    target.go()
    settle()
    lines = tool.stop().splitlines()
    us = folded_total(lines, ";do_nanosleep;")
    assert SLEEPS * 2000 <= us <= SLEEPS * 2000 * 2, lines
    text = multi.stop()
    assert text.startswith(f"Tracing off-CPU time (us) of PID {target.pid} by user + kernel stack")
    assert "    do_nanosleep\n" in text and f"    -                {WORK_COMM} ({target.pid})\n" in text
    assert "<svg" in (tmp_path / "off.svg").read_text()


def test_offcputime_as_libbpf_tools(work):
    target = Paused(work, "sleep", str(SLEEPS), "2000")
    oracle = start_oracle("offcputime", "-p", str(target.pid), quiet=True)
    ours = start_purebpf("offcputime", "-p", str(target.pid))
    target.go()
    settle()
    theirs, mine = oracle.stop(), ours.stop()

    def stacks(text: str) -> dict[tuple[str, ...], int]:
        """Kernel frames up to the syscall entry (our own program's name masked) -> microseconds."""
        out = {}
        for block in text.split("\n\n"):
            rows = [ln.strip() for ln in block.splitlines() if ln.startswith("    ")]
            if len(rows) >= 2 and rows[-2].startswith("-"):
                frames = tuple("bpf_prog" if f.startswith("bpf_prog_") else f for f in rows[:-2])
                if "entry_SYSCALL_64_after_hwframe" in frames:
                    frames = frames[:frames.index("entry_SYSCALL_64_after_hwframe") + 1]
                out[frames] = out.get(frames, 0) + int(rows[-1])
        return out

    a, b = stacks(mine), stacks(theirs)
    top = max(b, key=b.get)
    assert "do_nanosleep" in top and top in a and abs(a[top] - b[top]) <= 0.1 * b[top], (a, b)


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("cpudist", "-P", "-L"))
    one_line_error(run_purebpf("cpudist", "-p", "999999"))
    one_line_error(run_purebpf("offcputime", "-u", "-k"))
    one_line_error(run_purebpf("offcputime", "-m", "10", "-M", "5"))
    one_line_error(run_purebpf("offcputime", "-t", "999999"))
