"""Block I/O, OOM kills, the scheduler, page faults and the CPU profile, each
driven by a workload the test controls, seen on /metrics and in Prometheus."""

from __future__ import annotations

import mmap
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agent.harness import http, unique, wait_for
from tests.agent.test_exact import seen

BLOCK = 4096


@pytest.fixture
def loop_device(workdir):
    if shutil.which("losetup") is None:
        pytest.skip("losetup (util-linux) is not installed")
    backing = workdir / f"loop-{os.urandom(3).hex()}.img"
    with open(backing, "wb") as f:
        f.truncate(16 << 20)
    dev = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=True)
    path = dev.stdout.strip()
    try:
        yield path
    finally:
        subprocess.run(["losetup", "-d", path], check=False)
        backing.unlink()


def test_block_io_on_a_loop_device(agent, prometheus, loop_device):
    name = Path(loop_device).name
    time.sleep(0.5)  # the kernel's partition scan at attach reads the device; let it finish
    labels_w, labels_r = {"device": name, "op": "write"}, {"device": name, "op": "read"}
    before = {(m, op): agent.value(m, device=name, op=op) for m in (
        "purebpf_block_requests_total", "purebpf_block_bytes_total", "purebpf_block_latency_seconds_count")
        for op in ("read", "write")}
    buf = mmap.mmap(-1, BLOCK)  # page aligned, as O_DIRECT wants
    buf.write(b"p" * BLOCK)
    fd = os.open(loop_device, os.O_RDWR | os.O_DIRECT)
    try:
        for i in range(8):
            os.pwritev(fd, [buf], i * BLOCK)
        for i in range(5):
            os.preadv(fd, [buf], (100 + i) * BLOCK)
    finally:
        os.close(fd)
    seen(agent, prometheus, "purebpf_block_requests_total", before["purebpf_block_requests_total", "write"] + 8,
         **labels_w)
    seen(agent, prometheus, "purebpf_block_bytes_total", before["purebpf_block_bytes_total", "write"] + 8 * BLOCK,
         **labels_w)
    seen(agent, prometheus, "purebpf_block_latency_seconds_count",
         before["purebpf_block_latency_seconds_count", "write"] + 8, **labels_w)
    seen(agent, prometheus, "purebpf_block_requests_total", before["purebpf_block_requests_total", "read"] + 5,
         **labels_r)
    seen(agent, prometheus, "purebpf_block_bytes_total", before["purebpf_block_bytes_total", "read"] + 5 * BLOCK,
         **labels_r)


def _memory_cgroup(name: str) -> tuple[Path, str]:
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        return v1 / name, "memory.limit_in_bytes"
    root = Path("/sys/fs/cgroup")
    if "memory" in (root / "cgroup.controllers").read_text() if (root / "cgroup.controllers").exists() else "":
        return root / name, "memory.max"
    pytest.skip("no memory cgroup controller to confine an OOM to")


def test_oom_kill_names_its_victim(agent, prometheus, workdir):
    name = unique("pbt_oom")
    cg, limit_file = _memory_cgroup(name)
    cg.mkdir()
    try:
        (cg / limit_file).write_text(str(64 << 20))
        link = workdir / name
        os.symlink(sys.executable, link)
        child = subprocess.run(
            ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec {link} -c "x = bytearray(512 << 20)"'],
            capture_output=True, timeout=60)
        assert child.returncode == -9 or child.returncode == 137, child
        seen(agent, prometheus, "purebpf_memory_oom_kills_total", 1, comm=name)
    finally:
        wait_for("the OOM cgroup to empty", lambda: not (cg / "cgroup.procs").read_text().strip())
        cg.rmdir()


def test_page_faults_and_context_switches(agent, prometheus, workdir):
    name = unique("pbt_mem")
    link = workdir / name
    os.symlink(sys.executable, link)
    pages = 2000
    subprocess.run([str(link), "-c", f"""
import mmap, time
m = mmap.mmap(-1, {pages} * 4096)
for i in range({pages}):
    m[i * 4096] = 1
for i in range(50):
    time.sleep(0.001)
"""], check=True)
    def at_least(metric: str, n: int) -> float:
        return wait_for(f"{metric} >= {n}", lambda: (v := agent.value(metric, comm=name)) >= n and v)
    faults = at_least("purebpf_memory_page_faults_total", pages)
    switches = at_least("purebpf_sched_context_switches_total", 50)
    runq = at_least("purebpf_sched_runqueue_latency_seconds_count", 50)
    # nothing else runs under this name: what Prometheus stores is exactly what the agent serves
    seen(agent, prometheus, "purebpf_memory_page_faults_total", faults, comm=name)
    seen(agent, prometheus, "purebpf_sched_context_switches_total", switches, comm=name)
    seen(agent, prometheus, "purebpf_sched_runqueue_latency_seconds_count", runq, comm=name)


def test_cpu_profile_folded_and_svg(agent, workdir):
    name = unique("pbt_cpu")
    link = workdir / name
    os.symlink(sys.executable, link)
    subprocess.run([str(link), "-c", "import time\nt = time.time()\nwhile time.time() - t < 1.0: pass"], check=True)

    def folded() -> str:
        code, _, body = http(agent.url + "/profile")
        assert code == 200
        return body.decode()
    text = wait_for("profile samples of the busy process", lambda: name in folded() and folded())
    counts = [int(count) for stack, _, count in (line.rpartition(" ") for line in text.splitlines())
              if stack.split(";")[0] == name]
    assert 30 <= sum(counts) <= 60, counts  # 49 Hz for one second of CPU
    assert agent.value("purebpf_profile_samples_total", comm=name) == sum(counts)
    code, headers, svg = http(agent.url + "/profile?format=svg")
    assert code == 200 and headers["Content-Type"] == "image/svg+xml"
    assert re.match(rb"(<\?xml[^>]*>\s*)?<svg ", svg) and svg.rstrip().endswith(b"</svg>")
    assert name.encode() in svg
