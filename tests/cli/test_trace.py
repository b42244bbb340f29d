"""``purebpf trace -B``: output to a pipe is line-buffered by default, as bpftrace's is."""

from __future__ import annotations

import os
import select
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



def test_full_buffering_holds_lines_until_exit():
    """``-B full``: nothing reaches the pipe while the program runs (its few bytes stay in the
    buffer), then everything arrives when it ends."""
    proc = subprocess.Popen([sys.executable, "-m", "purebpf", "trace", "-B", "full", "-e",
                             'interval:ms:20 { printf("tick\\n"); }'], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr.readline().startswith(b"Attached")
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        assert not ready  # ~25 ticks printed by now, none written out
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert out.count(b"tick\n") >= 1 and proc.returncode == 0
