"""filelife shows each file the workload creates and deletes, once, with its age."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.tools.harness import WORK_COMM, Paused, one_line_error, run_purebpf, settle, start_oracle, start_purebpf

BURSTS = 3


def rows(lines: list[str], name: str) -> list[list[str]]:
    """TIME PID COMM AGE(s) FILE rows of the file ``name``."""
    return [ln.split() for ln in lines if ln.split()[-1:] == [name] and len(ln.split()) == 5]


def test_each_short_lived_file_once_with_its_age(work, tmp_path):
    before = tmp_path / "before"
    before.write_text("x")  # created before the tool: its deletion is not shown
    existing = tmp_path / "existing"
    existing.write_text("x")  # opened with O_CREAT but not created by that open
    tool = start_purebpf("filelife")
    js = start_purebpf("filelife", "-j")
    known = tmp_path / "known"
    absolute = Paused(work, "unlink", str(BURSTS), str(known))
    absolute.go()
    relative = subprocess.run([work, "unlink", "2", "rel"], cwd=tmp_path, check=True)
    Paused(work, "open", "1", str(existing), "101").go()
    existing.unlink()
    before.unlink()
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # created relative to a dfd, deleted by absolute path
    try:
        os.close(os.open("viadfd", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=dfd))
        settle()
        (tmp_path / "viadfd").unlink()
    finally:
        os.close(dfd)
    settle()
    lines = tool.stop().splitlines()
    assert lines[:2] == ["Tracing the lifespan of short-lived files ... Hit Ctrl-C to end.",
                         "TIME     PID    COMM             AGE(s)  FILE"], lines
    mine = rows(lines, "known")
    assert [r[1:3] for r in mine] == [[str(absolute.pid), WORK_COMM]] * BURSTS, lines
    assert all(0.01 <= float(r[3]) < 1 for r in mine), mine
    assert relative.returncode == 0 and [r[2] for r in rows(lines, "rel")] == [WORK_COMM] * 2, lines
    assert rows(lines, "existing") == [] and rows(lines, "before") == [], lines
    [via] = rows(lines, "viadfd")
    assert 0.3 <= float(via[3]) < 2, via
    records = [json.loads(x) for x in js.stop().splitlines()]
    assert [r["path"] for r in records if r["file"] == "known"] == [str(known)] * BURSTS
    assert [r["path"] for r in records if r["file"] == "viadfd"] == [str(tmp_path / "viadfd")]
    assert all(r["pid"] == absolute.pid and r["comm"] == WORK_COMM and 0.01 <= r["age_s"] < 1
               for r in records if r["file"] == "known")


def test_pid_filter_keeps_the_creator(work, tmp_path):
    target = Paused(work, "unlink", "2", str(tmp_path / "mine"))
    tool = start_purebpf("filelife", "-p", str(target.pid))
    Paused(work, "unlink", "2", str(tmp_path / "other")).go()
    target.go()
    settle()
    lines = tool.stop().splitlines()
    assert [r[1] for r in rows(lines, "mine")] == [str(target.pid)] * 2 and rows(lines, "other") == [], lines


@pytest.mark.guest_kernel  # libbpf-tools' filelife needs kprobes on vfs_create/vfs_unlink
def test_same_rows_as_libbpf_tools(work, tmp_path):
    oracle, ours = start_oracle("filelife"), start_purebpf("filelife")
    Paused(work, "unlink", str(BURSTS), str(tmp_path / "known")).go()
    settle()
    theirs, mine = oracle.stop().splitlines(), ours.stop().splitlines()
    assert [r[1:3] + r[4:] for r in rows(mine, "known")] == [r[1:3] + r[4:] for r in rows(theirs, "known")]
    assert len(rows(mine, "known")) == BURSTS


def test_bad_input_is_one_line():
    assert "999999" in one_line_error(run_purebpf("filelife", "-p", "999999"))
    one_line_error(run_purebpf("filelife", "-p", "x"))
    one_line_error(run_purebpf("filelife", "-d", "0"))
