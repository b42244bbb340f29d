"""biotop sums the direct I/O a workload sends to a loop device, per process and direction."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.tools.harness import one_line_error, read_direct, run_purebpf, settle, start_oracle, start_purebpf

READS = 16
HEADER = ["PID", "COMM", "D", "MAJ", "MIN", "DISK", "I/O", "Kbytes", "AVGms"]


def disk_rows(lines: list[str], disk: str) -> list[list[str]]:
    return [ln.split() for ln in lines if len(ln.split()) == 9 and ln.split()[5] == disk]


def write_direct(dev: str, count: int) -> int:
    """``count`` 4 KiB direct writes; the PID of the dd that made them."""
    dd = subprocess.Popen(["dd", "if=/dev/zero", f"of={dev}", "bs=4k", f"count={count}", "oflag=direct"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert dd.wait() == 0
    return dd.pid


def test_reads_and_writes_per_process(loop):
    disk = loop.removeprefix("/dev/")
    rdev = os.stat(loop).st_rdev
    tool = start_purebpf("biotop", "-C", "30")  # one summary, printed on Ctrl-C
    js = start_purebpf("biotop", "-j", "30")
    read_direct(loop, READS)
    writer = write_direct(loop, 2)
    settle()
    lines = tool.stop().splitlines()
    assert " loadavg: " in lines[0] and lines[1] == "" and lines[2].split() == HEADER and lines[-1] == "", lines
    rows = disk_rows(lines, disk)
    maj, mnr = str(os.major(rdev)), str(os.minor(rdev))
    assert sorted(r[1:8] for r in rows) == [["dd", "R", maj, mnr, disk, str(READS), str(4 * READS)],
                                            ["dd", "W", maj, mnr, disk, "2", "8"]], lines
    assert [r[0] for r in rows if r[2] == "W"] == [str(writer)] and all(float(r[8]) >= 0 for r in rows)
    assert rows[0][2] == "R"  # more I/O, more bytes: first
    records = [json.loads(x) for x in js.stop().splitlines()]
    mine = sorted((r["dir"], r["io"], r["kbytes"], r["bytes"]) for r in records if r["disk"] == disk)
    assert mine == [("R", READS, 4 * READS, 4096 * READS), ("W", 2, 8, 8192)], records


def test_rows_sort_and_count(loop):
    disk = loop.removeprefix("/dev/")
    one = start_purebpf("biotop", "-j", "-r", "1", "-s", "io", "30")
    by_io = start_purebpf("biotop", "-C", "-s", "io", "30")
    write_direct(loop, 3)
    read_direct(loop, 5)
    settle()
    [top] = [json.loads(x) for x in one.stop().splitlines()]
    assert top["io"] >= 5, top
    rows = [ln.split() for ln in by_io.stop().splitlines()[3:] if ln]
    assert [int(r[6]) for r in rows] == sorted((int(r[6]) for r in rows), reverse=True), rows
    assert [r[6] for r in disk_rows(["  ".join(r) for r in rows], disk)] == ["5", "3"], rows
    res = run_purebpf("biotop", "-C", "1", "2")  # two 1-second summaries, then it ends by itself
    assert res.returncode == 0 and res.stdout.count("loadavg:") == 2 and "\033[" not in res.stdout, res


def test_clears_the_screen_unless_told_not_to():
    res = run_purebpf("biotop", "1", "1")
    assert res.returncode == 0 and res.stdout.startswith("\033[H\033[2J"), res


@pytest.mark.guest_kernel  # libbpf-tools' biotop needs a kprobe on blk_account_io_start
def test_same_rows_as_libbpf_tools(loop):
    disk = loop.removeprefix("/dev/")
    oracle, ours = start_oracle("biotop", "-C", "30", quiet=True), start_purebpf("biotop", "-C", "30")
    read_direct(loop, READS)
    settle()
    theirs, mine = oracle.stop().splitlines(), ours.stop().splitlines()
    assert [r[1:8] for r in disk_rows(mine, disk)] == [r[1:8] for r in disk_rows(theirs, disk)]
    assert mine[2] == theirs[2]


def test_bad_input_is_one_line():
    assert "sort" in one_line_error(run_purebpf("biotop", "-s", "bogus"))
    one_line_error(run_purebpf("biotop", "-r", "0"))
    one_line_error(run_purebpf("biotop", "0"))
    one_line_error(run_purebpf("biotop", "1", "x"))
