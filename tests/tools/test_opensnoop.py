"""opensnoop sees exactly the opens the workload makes, with libbpf-tools' columns."""

from __future__ import annotations

import json

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


def mine(lines: list[str], path: str) -> list[list[str]]:
    """Rows of the workload opening ``path``: [PID, COMM, FD, ERR, (FLAGS,) PATH]."""
    return [ln.split() for ln in lines[1:] if ln.split()[1:2] == [WORK_COMM] and ln.endswith(" " + path)]


def test_sees_each_open_with_fd_and_errno(work, tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("x")
    tool = start_purebpf("opensnoop", "-e")
    workload(work, "open", "4", str(known), "0")
    workload(work, "open", "3", str(tmp_path / "missing"), "0")
    workload(work, "open", "2", str(tmp_path / "created"), "101")  # O_CREAT|O_WRONLY
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["PID", "COMM", "FD", "ERR", "FLAGS", "PATH"]
    ok = mine(lines, str(known))
    assert len(ok) == 4 and all(r[2] == "3" and r[3] == "0" and r[4] == "00000000" for r in ok), ok
    bad = mine(lines, str(tmp_path / "missing"))
    assert [r[2:4] for r in bad] == [["-1", "2"]] * 3
    created = mine(lines, str(tmp_path / "created"))
    assert len(created) == 2 and created[0][4] == "00000101"


def test_failed_only_and_pid_filter(work, tmp_path):
    known = tmp_path / "k"
    known.write_text("x")
    target = Paused(work, "open", "2", str(tmp_path / "nope"), "0")
    tool = start_purebpf("opensnoop", "-x", "-p", str(target.pid))
    workload(work, "open", "2", str(tmp_path / "nope"), "0")  # another process: filtered out
    target.go()
    workload(work, "open", "1", str(known), "0")
    settle()
    lines = tool.stop().splitlines()
    rows = [ln.split() for ln in lines[1:]]
    assert rows and all(r[0] == str(target.pid) and r[2] == "-1" for r in rows), lines
    assert len(mine(lines, str(tmp_path / "nope"))) == 2


def test_name_filter_and_json(work, tmp_path):
    tool = start_purebpf("opensnoop", "-n", "toolwo", "-j", "-U")
    workload(work, "open", "2", str(tmp_path / "j"), "0")
    workload("cat", "/dev/null")
    settle()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    assert records and all(r["comm"] == WORK_COMM for r in records)
    assert [r["err"] for r in records if r["path"] == str(tmp_path / "j")] == [2, 2]


def test_same_rows_as_libbpf_tools(work, tmp_path):
    known = tmp_path / "same.txt"
    known.write_text("x")
    oracle = start_oracle("opensnoop", "-e", "-n", WORK_COMM)
    tool = start_purebpf("opensnoop", "-e", "-n", WORK_COMM)
    workload(work, "open", "3", str(known), "0")
    workload(work, "open", "2", str(tmp_path / "absent"), "2")
    settle()
    theirs, ours = oracle.stop().splitlines(), tool.stop().splitlines()

    def normal(lines):  # PIDs masked
        return sorted(" ".join(r[1:]) for p in (str(known), str(tmp_path / "absent")) for r in mine(lines, p))

    assert normal(ours) == normal(theirs) and len(normal(ours)) == 5
    assert ours[0] == theirs[0]


def test_bad_input_is_one_line():
    assert "999999" in one_line_error(run_purebpf("opensnoop", "-p", "999999"))
    one_line_error(run_purebpf("opensnoop", "-d", "soon"))
    one_line_error(run_purebpf("opensnoop", "-p", "-3"))
