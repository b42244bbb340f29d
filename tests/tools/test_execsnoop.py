"""execsnoop sees exactly the execs the workload makes, with libbpf-tools' columns."""

from __future__ import annotations

import json
import signal
import subprocess

from tests.tools.harness import WORK_COMM, run_purebpf, settle, start_oracle, start_purebpf


def spawn(*argv: str, uid: int | None = None) -> int:
    """Run the workload to completion; return its pid (the PPID of what it execs)."""
    proc = subprocess.Popen(list(argv), user=uid)
    proc.wait(timeout=60)
    return proc.pid


def rows(lines: list[str], ppid: int) -> list[list[str]]:
    """Data rows (split on whitespace) whose PPID column is ``ppid``."""
    out = []
    for line in lines[1:]:
        cols = line.split()
        if len(cols) >= 4 and cols[2] == str(ppid):
            out.append(cols)
    return out


def test_sees_each_exec_with_args(work):
    tool = start_purebpf("execsnoop")
    parent = spawn(work, "exec", "3", "/bin/echo", "hello world", "x")
    settle()
    out = tool.stop()
    assert out.splitlines()[0].split() == ["PCOMM", "PID", "PPID", "RET", "ARGS"]
    mine = [line for line in out.splitlines()[1:] if line.split()[2:3] == [str(parent)]]
    assert len(mine) == 3, out
    for line in mine:
        # ARGS starts with the path given to exec, then argv[1:], each followed by a space
        assert line.startswith("echo             ") and line.endswith(" 0 /bin/echo hello world x "), line


def test_failed_execs_only_with_x(work):
    tool = start_purebpf("execsnoop")
    parent = spawn(work, "exec", "2", "/nonexistent/prog")
    settle()
    assert rows(tool.stop().splitlines(), parent) == []

    tool = start_purebpf("execsnoop", "-x")
    parent = spawn(work, "exec", "2", "/nonexistent/prog")
    settle()
    got = rows(tool.stop().splitlines(), parent)
    assert [r[:1] + r[3:] for r in got] == [[WORK_COMM, "-2", "/nonexistent/prog"]] * 2


def test_uid_filter_and_column(work):
    tool = start_purebpf("execsnoop", "-u", "65534", "-U")
    root_parent = spawn(work, "exec", "1", "/bin/true")
    nobody_parent = spawn("/bin/sh", "-c", "/bin/true; /bin/true; :", uid=65534)
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split()[0] == "UID"
    assert not [ln for ln in lines[1:] if ln.split()[3:4] == [str(root_parent)]]
    mine = [ln.split() for ln in lines[1:] if ln.split()[3:4] == [str(nobody_parent)]]
    assert len(mine) == 2 and all(r[0] == "65534" and r[1] == "true" for r in mine)


def test_max_args_cuts_with_ellipsis(work):
    tool = start_purebpf("execsnoop", "--max-args", "2", "-q")
    parent = spawn(work, "exec", "1", "/bin/echo", "a", "b", "c")
    settle()
    (line,) = [ln for ln in tool.stop().splitlines()[1:] if ln.split()[2:3] == [str(parent)]]
    assert line.endswith(' 0 "/bin/echo" "a"  ...'), line


def test_json_rows(work):
    tool = start_purebpf("execsnoop", "-j", "-T")
    parent = spawn(work, "exec", "2", "/bin/echo", "j")
    settle()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    mine = [r for r in records if r["ppid"] == parent]
    assert len(mine) == 2
    assert mine[0]["pcomm"] == "echo" and mine[0]["args"] == ["/bin/echo", "j"] and mine[0]["ret"] == 0
    assert len(mine[0]["time"]) == 8


def test_same_rows_as_libbpf_tools(work):
    oracle = start_oracle("execsnoop", "-x")
    tool = start_purebpf("execsnoop", "-x")
    parent = spawn(work, "exec", "3", "/bin/echo", "same", "rows")
    parent2 = spawn(work, "exec", "2", "/nonexistent/prog", "p", "q")
    settle()
    theirs, mine = oracle.stop().splitlines(), tool.stop().splitlines()

    def normal(lines):  # mask PIDs: PCOMM, RET, ARGS of the workload's execs
        return sorted(" ".join([r[0], *r[3:]]) for p in (parent, parent2) for r in rows(lines, p))

    assert normal(mine) == normal(theirs) and len(normal(mine)) == 5
    assert mine[0].split() == theirs[0].split()


def test_bad_input_is_one_line():
    for argv in (["-u", "abc"], ["--max-args", "99"], ["-c", "/nonexistent/cgroup"]):
        res = run_purebpf("execsnoop", *argv)
        assert res.returncode != 0
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.startswith("purebpf"), res.stderr


def test_sigterm_ends_cleanly():
    tool = start_purebpf("execsnoop")
    tool.stop(signal.SIGTERM)
    assert tool.proc.returncode == 0 and "Traceback" not in tool.stderr, tool.stderr
