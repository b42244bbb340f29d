"""``-p PID`` limits software/profile perf events to that process (bpftrace opens them per process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BUSY = r"""
#include <time.h>
int main(void) {
  volatile unsigned long n = 0;
  time_t end = time(NULL) + 5;
  while (time(NULL) < end) n++;
  return 0;
}
"""


@pytest.fixture()
def busy(tmp_path):
    (tmp_path / "busy.c").write_text(BUSY)
    subprocess.run(["gcc", "-O0", "-o", str(tmp_path / "busy"), str(tmp_path / "busy.c")], check=True)
    proc = subprocess.Popen([str(tmp_path / "busy")])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("probe", ["software:cpu-clock:1000000", "profile:hz:997"])
def test_perf_events_count_only_the_pid(busy, probe):
    program = probe + " { @[pid] = count(); } interval:ms:700 { exit(); }"
    proc = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-e", program, "-p", str(busy)],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert proc.returncode == 0, proc.stderr
    keys = [line.split("]")[0] for line in proc.stdout.splitlines() if line.startswith("@[")]
    assert keys == [f"@[{busy}"], proc.stdout
