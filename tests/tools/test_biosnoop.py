"""biosnoop prints one line per request the workload sends to a loop device."""

from __future__ import annotations

import json
import subprocess

from tests.tools.harness import one_line_error, read_direct, run_purebpf, settle, start_purebpf

READS = 16


def test_one_line_per_read_with_sector_and_size(loop):
    disk = loop.removeprefix("/dev/")
    tool = start_purebpf("biosnoop", "-d", disk)
    js = start_purebpf("biosnoop", "-Q", "-j", "-d", disk)
    read_direct(loop, READS)
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES", "LAT(ms)"]
    rows = [ln.split() for ln in lines[1:]]
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("dd", disk, "RS", str(8 * i), "4096") for i in range(READS)], lines
    assert len({r[2] for r in rows}) == 1 and all(float(r[7]) >= 0 for r in rows)
    records = [json.loads(x) for x in js.stop().splitlines()]
    assert [r["sector"] for r in records] == [8 * i for i in range(READS)]
    assert all(r["comm"] == "dd" and r["bytes"] == 4096 and "queued_ms" in r for r in records)


def test_writes_and_flushes(loop):
    tool = start_purebpf("biosnoop", "-d", loop.removeprefix("/dev/"))
    subprocess.run(["dd", "if=/dev/zero", f"of={loop}", "bs=4k", "count=2", "oflag=direct,sync"], check=True,
                   capture_output=True)
    settle()
    rows = [ln.split() for ln in tool.stop().splitlines()[1:]]
    assert [r[4:7] for r in rows if r[1] == "dd"] == [["WS", "0", "4096"], ["WS", "8", "4096"]], rows
    # the flushes sync asks for come from the loop driver's worker, without a task of the workload's
    assert all(r[1] == "dd" or r[3] in ("F", "FF", "FWS", "FWSF") for r in rows), rows


def test_bad_input_is_one_line():
    assert "nodisk" in one_line_error(run_purebpf("biosnoop", "-d", "nodisk"))
    one_line_error(run_purebpf("biosnoop", "0"))
