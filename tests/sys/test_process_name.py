"""Renaming a process: comm and argv[0] change, the other arguments stay, pidof finds it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

RENAMED = ("import sys, time; from purebpf.sys.process_name import rename_process; "
           "rename_process('pbtname'); print('ready', flush=True); time.sleep(30)")


def test_comm_and_argv0_take_the_new_name_and_the_arguments_stay():
    with subprocess.Popen([sys.executable, "-c", RENAMED, "extra-arg"], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline() == "ready\n"
            comm = open(f"/proc/{proc.pid}/comm").read().strip()
            argv = open(f"/proc/{proc.pid}/cmdline", "rb").read().split(b"\0")
            assert comm == "pbtname"
            assert argv[0] == b"pbtname" and b"extra-arg" in argv
            if shutil.which("pidof"):
                found = subprocess.run(["pidof", "pbtname"], capture_output=True, text=True).stdout.split()
                assert str(proc.pid) in found
        finally:
            proc.kill()


def test_a_name_longer_than_argv0_moves_the_argument_area():
    """Started as ``py``: "bpftrace" does not fit over it, so the kernel is shown a new area (or, without
    CAP_SYS_RESOURCE, the arguments shift and the last loses its tail)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from purebpf.sys.process_name import rename_process; "
            "rename_process('bpftrace'); print(open('/proc/self/cmdline', 'rb').read().split(b'\\0'))")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(["py", "-c", code, root], executable=sys.executable, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out in (str([b"bpftrace", b"-c", code.encode(), root.encode(), b""]),
                   str([b"bpftrace", b"-c", code.encode(), root[:-len("bpftrace") + len("py")].encode(), b""]))
