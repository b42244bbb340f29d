"""``purebpf trace -B``: output to a pipe is line-buffered by default, as bpftrace's is."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the line comes from a probe (events are read in a loop), not from BEGIN (printed before it)
PROGRAM = ('interval:ms:50 /@done == 0/ { @done = 1; printf("first\\n"); } '
           'interval:ms:700 { printf("last\\n"); exit(); }')


def _first_line_while_running(*flags: str) -> tuple[bytes, bool]:
    """The first stdout line (to a pipe) and whether the tracer was still running when it came."""
    proc = subprocess.Popen([sys.executable, "-m", "purebpf", "trace", *flags, "-e", PROGRAM], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        running = proc.poll() is None
        proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    return line, running


@pytest.mark.parametrize("flags", [(), ("-B", "line"), ("-B", "none")])
def test_lines_reach_a_pipe_as_they_are_printed(flags):
    assert _first_line_while_running(*flags) == (b"first\n", True)

