"""Runner tests: the test programs of tests/bpf built by the ELF tests' fixture,
and helpers to run ``python -m purebpf run`` as a tool is run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.elf.conftest import bpf_objects  # noqa: F401 - the shared session fixture

REPO = Path(__file__).resolve().parents[2]


class Running:
    """``python -m purebpf run ...`` in the background, ready once it says it attached."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "purebpf", "run", *args], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = self.proc.stderr.readline()
        if "attached" not in self.banner:
            out, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"purebpf run did not start: {self.banner}{err}{out}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 10) -> tuple[str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return out, self.banner + err


@pytest.fixture
def running():
    started: list[Running] = []

    def start(*args: str) -> Running:
        r = Running(*args)
        started.append(r)
        return r
    yield start
    for r in started:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "purebpf", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
