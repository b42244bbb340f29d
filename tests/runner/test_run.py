"""``purebpf run`` against the real kernel: events, options, histograms, stopping."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from tests.runner.conftest import run_cli

# the kernel names a process after the file it executed: "python" in a venv, "python3" elsewhere
CHILD_COMM = os.path.basename(sys.executable)[:15]

CHILD = """
import os, sys
sys.stdin.readline()                      # wait until the tracer is attached
{body}
"""


def _child(body: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD.format(body=body)], stdin=subprocess.PIPE, text=True)


def _go(child: subprocess.Popen) -> None:
    child.stdin.write("go\n")
    child.stdin.close()
    assert child.wait(timeout=10) == 0


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_exec_snoop_sees_each_exec(bpf_objects, running, tmp_path):
    binary = tmp_path / "pbx_exec_probe"
    shutil.copy("/bin/true", binary)
    run = running(bpf_objects["execsnoop"], "-j", "--duration", "2")
    for _ in range(5):
        subprocess.run([str(binary)], check=True)
    out, err = run.wait()
    assert run.proc.returncode == 0, err
    rows = [r for r in _json_lines(out) if r["filename"] == str(binary)]
    assert len(rows) == 5
    assert all(r["comm"] == "pbx_exec_probe" and r["ppid"] == os.getpid() for r in rows)
    assert len({r["pid"] for r in rows}) == 5
    assert set(rows[0]) == {"pid", "ppid", "uid", "comm", "filename"}


def test_table_output_has_a_header_and_aligned_rows(bpf_objects, running, tmp_path):
    binary = tmp_path / "pbx_tbl"
    shutil.copy("/bin/true", binary)
    run = running(bpf_objects["execsnoop"])
    subprocess.run([str(binary)], check=True)
    time.sleep(0.2)
    out, _ = run.stop()
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "PID", "PPID", "UID", "COMM", "FILENAME"]
    row = next(line for line in lines if line.endswith(str(binary)))
    assert row.split()[4] == "pbx_tbl"
    assert row.index("pbx_tbl") == lines[0].index("COMM")        # columns line up
    assert row.index(str(binary)) == lines[0].index("FILENAME")


def test_open_snoop_only_reports_target_pid(bpf_objects, running):
    path = f"/tmp/pbx_open_{os.getpid()}"  # short: the record holds 63 bytes of it
    with open(path, "w") as f:
        f.write("x")
    child = _child(f"for _ in range(3): os.close(os.open({path!r}, os.O_RDONLY))")
    try:
        run = running(bpf_objects["opensnoop"], "--target-pid", str(child.pid), "-j")
        os.close(os.open(path, os.O_RDONLY))  # ours: must not show
        _go(child)
        time.sleep(0.3)
        out, err = run.stop(signal.SIGTERM)
    finally:
        child.kill()
        os.unlink(path)
    assert run.proc.returncode == 0, err
    rows = _json_lines(out)
    assert rows and {r["pid"] for r in rows} == {child.pid}
    assert sum(r["fname"] == str(path) for r in rows) == 3
    assert all(r["flags"] == os.O_RDONLY | os.O_CLOEXEC for r in rows if r["fname"] == str(path))


def test_option_values_reach_the_kernel(bpf_objects, running):
    run = running(bpf_objects["options"], "--target-pid", str(os.getpid()), "--mode", "slow", "--label", "hi",
                  "--verbose", "--no-quiet", "--offset", "0x10", "--level", "9", "--hits", "100", "-j")
    os.getpid()
    os.getpid()
    time.sleep(0.3)
    out, err = run.stop()
    assert run.proc.returncode == 0, err
    rows = _json_lines(out)
    assert rows == [{"target_pid": os.getpid(), "level": 9, "mode": "MODE_SLOW", "verbose": True, "quiet": False,
                     "label": "hi", "offset": 16, "hits": h} for h in (101, 102)]


WRITES = """
fd = os.open("/dev/null", os.O_WRONLY)
for size, n in ((1, 1), (100, 2), (1000, 4), (5000, 3)):
    for _ in range(n):
        os.write(fd, b"x" * size)
"""


def test_histogram_of_write_sizes(bpf_objects, running):
    child = _child(WRITES)
    try:
        run = running(bpf_objects["writehist"], "--target-pid", str(child.pid), "--hist", "hists",
                      "--hist", "buckets", "--interval", "0.2")
        _go(child)
        time.sleep(0.5)
        out, err = run.stop()
    finally:
        child.kill()
    assert run.proc.returncode == 0, err
    blocks = [b for b in out.split("\n\n") if b.strip()]
    assert len(blocks) >= 3  # printed at each interval and at exit
    last = blocks[-1].splitlines()
    assert last[1] == f"comm = {CHILD_COMM}"
    assert last[2] == "     value               : count    distribution"
    counts = {line.split(":")[0].strip(): int(line.split(":")[1].split()[0]) for line in last[3:] if "->" in line}
    hist_lines = [line for line in last[3:] if "->" in line]
    per_comm, whole = hist_lines[:len(hist_lines) // 2], hist_lines[len(hist_lines) // 2:]
    assert per_comm == whole  # the same writes, counted per comm and in the bucket array
    assert {k: counts[k] for k in ("0 -> 1", "64 -> 127", "512 -> 1023", "4096 -> 8191")} == {
        "0 -> 1": 1, "64 -> 127": 2, "512 -> 1023": 4, "4096 -> 8191": 3}
    assert "512 -> 1023       : 4        |****************************************|" in blocks[-1]


def test_histogram_json(bpf_objects, running):
    child = _child(WRITES)
    try:
        run = running(bpf_objects["writehist"], "--target-pid", str(child.pid), "--hist", "buckets", "-j")
        _go(child)
        out, err = run.stop()
    finally:
        child.kill()
    (doc,) = _json_lines(out)
    assert doc["map"] == "buckets" and doc["type"] == "log2_hist"
    counts = {(b["low"], b["high"]): b["count"] for b in doc["hists"][0]["buckets"]}
    assert counts[(512, 1023)] == 4 and counts[(4096, 8191)] == 3


def test_duration_and_command_stop_it(bpf_objects):
    start = time.monotonic()
    res = run_cli("run", bpf_objects["options"], "--duration", "0.5")
    assert res.returncode == 0, res.stderr
    assert 0.5 <= time.monotonic() - start < 8
    res = run_cli("run", bpf_objects["execsnoop"], "-j", "--", "/bin/echo", "hello")
    assert res.returncode == 0, res.stderr
    assert "hello" in res.stdout
    assert any(r["filename"] == "/bin/echo" for r in _json_lines(res.stdout.replace("hello\n", "")))


def test_object_api_decodes_events(bpf_objects):
    import purebpf

    with purebpf.load(bpf_objects["options"], rodata={"target_pid": os.getpid(), "label": "api"},
                      attach=True) as obj:
        got = []
        with obj.ring_buffer("configs", got.append) as rb:
            os.getpid()
            rb.poll(1000)
        assert len(got) == 1 and got[0].label == "api" and got[0]["mode"] == "MODE_FAST"
        os.getpid()
        events = list(obj.events("configs", timeout=0.2))
        assert [e.hits for e in events] == [2]


def test_a_burst_of_records_arrives_whole_and_in_order(bpf_objects, running):
    child = _child("import ctypes\nfor _ in range(5000): ctypes.CDLL(None).syscall(39)")
    try:
        run = running(bpf_objects["getpidsnoop"], "--target-pid", str(child.pid), "-j")
        _go(child)
        time.sleep(0.3)
        out, err = run.stop()
    finally:
        child.kill()
    rows = _json_lines(out)
    assert [r["seq"] for r in rows] == list(range(5000))
    assert {(r["pid"], r["comm"]) for r in rows} == {(child.pid, CHILD_COMM)}
