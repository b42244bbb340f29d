"""statsnoop and bindsnoop see exactly the stat() and bind() calls of the workload."""

from __future__ import annotations

import json
import socket

import pytest

from tests.tools.harness import WORK_COMM, Paused, one_line_error, run_purebpf, settle, start_purebpf


def rows_for(lines: list[str], path: str) -> list[list[str]]:
    return [ln.split() for ln in lines[1:] if ln.split()[1:2] == [WORK_COMM] and ln.endswith(" " + path)]


def test_statsnoop_sees_each_stat(work, tmp_path):
    known = tmp_path / "known"
    known.write_text("x")
    tool = start_purebpf("statsnoop", "-t")
    failed = start_purebpf("statsnoop", "-x", "-j")
    workload_ok = Paused(work, "stat", "3", str(known))
    workload_ok.go()
    Paused(work, "stat", "2", str(tmp_path / "missing")).go()
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["TIME(s)", "PID", "COMM", "RET", "ERR", "PATH"]
    ok = rows_for([ln.split(None, 1)[1] for ln in lines], str(known))
    assert [r[2:4] for r in ok] == [["0", "0"]] * 3 and {r[0] for r in ok} == {str(workload_ok.pid)}
    bad = rows_for([ln.split(None, 1)[1] for ln in lines], str(tmp_path / "missing"))
    assert [r[2:4] for r in bad] == [["-1", "2"]] * 2
    records = [json.loads(x) for x in failed.stop().splitlines()]
    mine = [r for r in records if r["comm"] == WORK_COMM]
    assert [(r["ret"], r["err"], r["path"]) for r in mine] == [(-1, 2, str(tmp_path / "missing"))] * 2


def test_statsnoop_pid_filter(work, tmp_path):
    target = Paused(work, "stat", "2", str(tmp_path))
    tool = start_purebpf("statsnoop", "-p", str(target.pid))
    Paused(work, "stat", "2", str(tmp_path)).go()  # another process: filtered out
    target.go()
    settle()
    rows = [ln.split() for ln in tool.stop().splitlines()[1:]]
    assert rows and {r[0] for r in rows} == {str(target.pid)} and len(rows_for(
        ["h"] + [" ".join(r) for r in rows], str(tmp_path))) == 2


def test_bindsnoop_sees_each_bind_with_options(work):
    tool = start_purebpf("bindsnoop", "-x")
    js = start_purebpf("bindsnoop", "-j", "-P", "47557")
    Paused(work, "bind", "47557").go()
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    udp.bind(("::1", 47558))
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 47558))
        with pytest.raises(OSError):
            socket.socket().bind(("127.0.0.1", 47558))  # EADDRINUSE, shown with -x
    finally:
        udp.close()
        taken.close()
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["PID", "COMM", "RET", "PROTO", "OPTS", "IF", "PORT", "ADDR"]
    rows = [ln.split() for ln in lines[1:]]
    assert [WORK_COMM, "0", "TCP", ".....", "0", "47557", "127.0.0.1"] in [r[1:] for r in rows]
    mine = [r[2:] for r in rows if r[6] == "47558"]
    assert mine == [["0", "UDP", "...Rr", "0", "47558", "::1"], ["0", "TCP", ".....", "0", "47558", "127.0.0.1"],
                    ["-98", "TCP", ".....", "0", "47558", "127.0.0.1"]], rows
    records = [json.loads(x) for x in js.stop().splitlines()]
    assert [(r["comm"], r["port"], r["ret"]) for r in records] == [(WORK_COMM, 47557, 0)]


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("statsnoop", "-p", "999999"))
    one_line_error(run_purebpf("bindsnoop", "-P", "0"))
    one_line_error(run_purebpf("bindsnoop", "-p", "x"))
