"""The compiled workload every tool test watches."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.tools.harness import WORK_COMM, WORK_SRC, kill_leftovers


@pytest.fixture(autouse=True)
def _no_tool_left_running():
    """After each test, whatever it left running (a failed assertion before ``stop()``) is killed."""
    yield
    kill_leftovers()


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> str:
    """Path of the compiled workload program (its comm is ``pbtoolwork``)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the test workload")
    out = tmp_path_factory.mktemp("work") / WORK_COMM
    subprocess.run(["gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-o", str(out), str(WORK_SRC)], check=True)
    return str(out)


@pytest.fixture
def loop(tmp_path):
    """A 4 MiB loop device (its /dev path), detached after the test."""
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"\1" * (4 << 20))
    dev = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
    if dev.returncode != 0:
        pytest.skip(f"no loop device: {dev.stderr.strip()}")
    path = dev.stdout.strip()
    yield path
    subprocess.run(["losetup", "-d", path], check=False)


@pytest.fixture
def netns():
    """A fresh network namespace with loopback up (its name); deleted after the test."""
    name = f"pbtools{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
