"""biolatency counts one latency per request the workload sends to a loop device."""

from __future__ import annotations

import json
import re

from tests.tools.harness import one_line_error, read_direct, run_purebpf, settle, start_oracle, start_purebpf

ROW = re.compile(r"^\s*(\d+) -> (\d+)\s*: (\d+)\s*\|")
READS = 64


def total(lines: list[str]) -> int:
    return sum(int(m.group(3)) for m in map(ROW.match, lines) if m)


def test_counts_each_read_of_the_disk(loop):
    tool = start_purebpf("biolatency", "-d", loop.removeprefix("/dev/"))
    read_direct(loop)
    settle()
    lines = tool.stop().splitlines()
    assert lines[:4] == ["Tracing block device I/O... Hit Ctrl-C to end.", "", "",
                         "     usecs               : count    distribution"]
    assert total(lines) == READS


def test_per_disk_and_flags(loop):
    name = loop.removeprefix("/dev/")
    tool = start_purebpf("biolatency", "-D", "-F", "-d", name)
    read_direct(loop)
    settle()
    out = tool.stop()
    assert f"disk = {name}\tflags = Read" in out or f"disk = {name}\tflags = Sync-Read" in out, out
    tool = start_purebpf("biolatency", "-D", "-j", "-m")
    read_direct(loop, 16)
    settle()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    (mine,) = [r for r in records if r["disk"] == name]
    assert mine["unit"] == "msecs" and mine["total"] == 16


def test_same_counts_as_libbpf_tools(loop):
    name = loop.removeprefix("/dev/")
    oracle = start_oracle("biolatency", "-d", name)
    tool = start_purebpf("biolatency", "-d", name)
    read_direct(loop)
    settle()
    theirs, ours = oracle.stop().splitlines(), tool.stop().splitlines()
    assert ours[:4] == theirs[:4]
    assert total(ours) == total(theirs) == READS


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("biolatency", "-d", "nosuchdisk"))
    one_line_error(run_purebpf("biolatency", "1", "x"))
