"""`watchpoint:ADDRESS:LENGTH:MODE` probes: a global of a test program written by a
thread it starts (-c), or by a running process (-p), and the refusals."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from .test_runtime import needs_bpftrace, ours, same_output

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def watchwork(tmp_path_factory) -> tuple[str, int]:
    """The built program (not PIE: the global's address is known before it runs) and that address."""
    out = tmp_path_factory.mktemp("watch") / "watchwork"
    subprocess.run(["gcc", "-O1", "-no-pie", "-pthread", "-o", str(out), str(HERE / "watchwork.c")], check=True)
    symbols = subprocess.run(["nm", str(out)], capture_output=True, text=True, check=True).stdout
    address = next(int(line.split()[0], 16) for line in symbols.splitlines() if line.endswith(" watched"))
    return str(out), address


def test_sees_the_writes_of_a_thread_started_after_attaching(watchwork):
    binary, address = watchwork
    proc = ours(f'watchpoint:{address:#x}:8:w /tid != pid/ {{ @writes = count(); @probe = probe; }}',
                f"{binary} thread")
    assert proc.returncode == 0, proc.stderr
    assert "@writes: 3\n" in proc.stdout
    assert f"@probe: watchpoint:{address:#x}:8:w\n" in proc.stdout


@needs_bpftrace
def test_first_hit_is_the_same_as_bpftrace(watchwork):
    binary, address = watchwork
    same_output(f'watchpoint:{address:#x}:8:w {{ printf("hit! %s\\n", comm); exit(); }}', f"{binary} thread")


def test_watches_a_running_process_with_p(watchwork):
    binary, address = watchwork
    with subprocess.Popen([binary, "loop"]) as work:
        try:
            time.sleep(0.1)
            proc = ours(f'w:{address:#x}:8:w {{ printf("hit %d\\n", pid); exit(); }}', None, "-p", str(work.pid))
        finally:
            work.kill()
    assert proc.returncode == 0, proc.stderr
    assert f"hit {work.pid}\n" in proc.stdout


@pytest.mark.parametrize("program, message", [
    ("watchpoint:0x1000:8:w { }", "a user-space address is watched in one process: give -p PID or -c CMD"),
    ("watchpoint:0x1000:3:w { }", "watchpoint length must be one of (1,2,4,8)"),
    ("watchpoint:0x1000:8:q { }", "watchpoint mode must be a combination of (r,w,x)"),
    ("watchpoint:zz:8:w { }", "watchpoint: invalid address 'zz'"),
    ("watchpoint:0x1000:8 { }", "watchpoint probe type requires 3 arguments"),
])
def test_bad_watchpoints_are_clear_errors(program, message):
    proc = ours(program)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr

