"""Running tools against workloads: ``purebpf TOOL`` and the libbpf-tools binary
of the same name, started and stopped the way a user would (Ctrl-C)."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORK_SRC = Path(__file__).with_name("workload.c")
WORK_COMM = "pbtoolwork"
QUIET_START = 1.5  # seconds a C tool that prints nothing at start needs to attach


_STARTED: list[Running] = []


def kill_leftovers() -> None:
    """Kill the tools a test started and did not stop (it failed first): none stays attached."""
    while _STARTED:
        proc = _STARTED.pop().proc
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


class Running:
    """A tool process, stopped with SIGINT; ``output`` holds what it printed."""

    def __init__(self, argv: list[str], ready: str, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env, cwd=str(ROOT))
        _STARTED.append(self)
        self.stdout = ""
        self.stderr = ""
        self._wait_ready(ready)

    def _wait_ready(self, ready: str, timeout: float = 30.0) -> None:
        if ready == "quiet":  # prints nothing until it ends: give it time to attach
            time.sleep(QUIET_START)
            if self.proc.poll() is not None:
                self.stop()
                raise AssertionError(f"{self.argv} ended before it was ready: {self.stderr or self.stdout}")
            return
        sel = selectors.DefaultSelector()
        stream = self.proc.stderr if ready == "stderr" else self.proc.stdout
        sel.register(stream, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not sel.select(deadline - time.monotonic()):
                    continue
                line = stream.readline()
                if not line:
                    self.stop()
                    raise AssertionError(f"{self.argv} ended before it was ready: {self.stderr or self.stdout}")
                if ready == "stderr":
                    if "PUREBPF_TOOL_READY" in line:
                        return
                    self.stderr += line
                else:
                    self.stdout += line
                    return
            self.stop()
            raise AssertionError(f"{self.argv} not ready after {timeout}s")
        finally:
            sel.close()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        self.stdout += out
        self.stderr += err
        return self.stdout

    def wait(self, timeout: float = 30.0) -> str:
        out, err = self.proc.communicate(timeout=timeout)
        self.stdout += out
        self.stderr += err
        return self.stdout

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def start_purebpf(tool: str, *args: str) -> Running:
    env = dict(os.environ, PUREBPF_TOOL_READY="1", PYTHONPATH=str(ROOT))
    return Running([sys.executable, "-m", "purebpf", tool, *args], "stderr", env)


def start_oracle(tool: str, *args: str, quiet: bool = False) -> Running:
    """The libbpf-tools binary, line-buffered so its header says it is attached
    (``quiet``: it prints no header, wait a moment instead)."""
    path = shutil.which(tool) or f"/usr/sbin/{tool}"
    if not os.path.exists(path):
        pytest.skip(f"libbpf-tools' {tool} is not installed")
    return Running(["stdbuf", "-oL", path, *args], "quiet" if quiet else "stdout")


def run_purebpf(tool: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "purebpf", tool, *args], capture_output=True, text=True,
                          env=env, cwd=str(ROOT), timeout=timeout)


def workload(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=60)


def settle() -> None:
    """Give the tools' poll loops time to drain what the workload caused."""
    time.sleep(0.4)


class Paused:
    """A workload whose PID is known before it starts: ``sh`` waits for a line
    on stdin, then execs the command (same PID).  ``go()`` runs it to the end."""

    def __init__(self, *argv: str) -> None:
        self.proc = subprocess.Popen(["/bin/sh", "-c", 'read x; exec "$@"', "sh", *argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
        self.pid = self.proc.pid

    def go(self, timeout: float = 60.0) -> int:
        self.proc.communicate(b"\n", timeout=timeout)
        return self.proc.returncode


def one_line_error(res: subprocess.CompletedProcess) -> str:
    """Check a refused command line: non-zero exit, one line on stderr naming purebpf, no traceback."""
    err = res.stderr.strip()
    assert res.returncode != 0, res
    assert len(err.splitlines()) == 1 and "Traceback" not in err and err.startswith("purebpf"), err
    return err


def read_direct(dev: str, count: int = 64) -> None:
    """``count`` 4 KiB reads of ``dev`` that bypass the page cache: one request each."""
    subprocess.run(["dd", f"if={dev}", "of=/dev/null", "bs=4k", f"count={count}", "iflag=direct"], check=True,
                   capture_output=True)
