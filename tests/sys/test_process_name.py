"""Renaming a process: comm and argv[0] change, the other arguments stay, pidof finds it."""

from __future__ import annotations

import shutil
import subprocess
import sys

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


def test_a_name_longer_than_argv0_changes_only_comm():
    code = ("from purebpf.sys.process_name import rename_process; import sys; "
            "rename_process('x' * 200); print(open('/proc/self/cmdline','rb').read().split(b'\\0')[0].decode())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == sys.executable  # left whole: the new name would not fit
