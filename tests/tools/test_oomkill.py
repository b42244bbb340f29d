"""oomkill sees the OOM kill of a workload confined to a small memory cgroup."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.tools.harness import WORK_COMM, Paused, one_line_error, run_purebpf, settle, start_purebpf

LIMIT = 32 << 20


@pytest.fixture
def small_memory_cgroup():
    """A memory cgroup (v1 or v2) limited to 32 MiB without swap; removed after."""
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        cg = v1 / f"pbtools{os.getpid()}"
        cg.mkdir()
        (cg / "memory.limit_in_bytes").write_text(str(LIMIT))
        if (cg / "memory.memsw.limit_in_bytes").exists():
            (cg / "memory.memsw.limit_in_bytes").write_text(str(LIMIT))
    else:
        root = Path("/sys/fs/cgroup")
        if "memory" not in (root / "cgroup.controllers").read_text().split():
            pytest.skip("no memory cgroup controller")
        (root / "cgroup.subtree_control").write_text("+memory")
        cg = root / f"pbtools{os.getpid()}"
        cg.mkdir()
        (cg / "memory.max").write_text(str(LIMIT))
        (cg / "memory.swap.max").write_text("0")
    try:
        yield cg
    finally:
        cg.rmdir()


def test_sees_the_kill_of_the_hog(work, small_memory_cgroup):
    tool = start_purebpf("oomkill")
    js = start_purebpf("oomkill", "-j")
    hog = Paused(work, "hog", "256")  # 256 MiB in a 32 MiB cgroup
    (small_memory_cgroup / "cgroup.procs").write_text(str(hog.pid))
    assert hog.go() == -9  # SIGKILL
    settle()
    lines = tool.stop().splitlines()
    assert lines[0] == "Tracing OOM kills... Ctrl-C to stop."
    pid = hog.pid
    rows = [ln for ln in lines[1:] if f"OOM kill of PID {pid} " in ln]
    assert len(rows) == 1, lines
    m = re.fullmatch(rf'\d\d:\d\d:\d\d Triggered by PID {pid} \("{WORK_COMM}"\), OOM kill of PID {pid} '
                     rf'\("{WORK_COMM}"\), (\d+) pages, loadavg: [\d.]+ [\d.]+ [\d.]+ \d+/\d+ \d+', rows[0])
    assert m and int(m.group(1)) * os.sysconf("SC_PAGE_SIZE") >= LIMIT // 2, rows
    (record,) = [r for r in map(json.loads, js.stop().splitlines()) if r["kpid"] == pid]
    assert record["tpid"] == pid and record["kcomm"] == WORK_COMM


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("oomkill", "-d", "0"))
