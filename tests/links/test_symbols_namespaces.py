"""A binary that exists only inside a process's mount namespace is found through /proc/PID/root."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from purebpf.errors import NotFoundError
from purebpf.links.symbols import resolve_binary, symbol_table


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1)")
def test_path_seen_only_inside_the_process_mount_namespace(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    script = f"mount -t tmpfs none {hidden} && cp /bin/sleep {hidden}/sleeper && exec {hidden}/sleeper 5"
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    try:
        inside = f"/proc/{proc.pid}/root{hidden}/sleeper"
        for _ in range(100):
            if os.path.exists(inside):
                break
            time.sleep(0.02)
        target = str(hidden / "sleeper")
        with pytest.raises(NotFoundError):
            resolve_binary(target)  # not there outside the namespace
        path = resolve_binary(target, pid=proc.pid)
        assert str(path) == inside
        assert ".dynsym" in symbol_table(path).tables  # read through the process's root
    finally:
        proc.kill()
        proc.wait()

