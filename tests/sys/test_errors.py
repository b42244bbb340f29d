"""errno -> exception mapping: real refusals from the kernel, seen as an unprivileged user."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from purebpf.errors import SyscallError, errno_hint, syscall_error
from purebpf.sys import Cmd, MapType, bpf
from purebpf.sys.attrs import MapCreateAttr

ROOT = Path(__file__).resolve().parents[2]


def run_as_nobody(body: str) -> str:
    """Run ``body`` (after imports, which need root's files) as uid/gid 65534; return stdout."""
    code = ("import os\n"
            "from purebpf.errors import SyscallError\n"
            "from purebpf.sys import Cmd, MapType, bpf\n"
            "from purebpf.sys.attrs import MapCreateAttr\n"
            "from purebpf.sys.perf import PerfType, SoftwareEvent, open_event\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n" + body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_eperm_names_capabilities_and_sysctl():
    if Path("/proc/sys/kernel/unprivileged_bpf_disabled").read_text().strip() == "0":
        pytest.skip("unprivileged BPF is allowed here: no EPERM to observe")
    out = run_as_nobody(
        "try:\n"
        "    bpf(Cmd.MAP_CREATE, MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=1),"
        " 'hash map')\n"
        "except SyscallError as exc:\n"
        "    print(exc.errno, exc.op, exc)\n")
    assert out.startswith(f"{errno.EPERM} BPF_MAP_CREATE BPF_MAP_CREATE of hash map failed: EPERM ("), out
    assert "CAP_BPF" in out and "root" in out and "unprivileged_bpf_disabled" in out


def test_perf_event_eacces_mentions_paranoid():
    paranoid = int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
    if paranoid < 1:
        pytest.skip("perf_event_paranoid < 1 lets anyone open CPU-wide events")
    out = run_as_nobody(
        "try:\n"
        "    os.close(open_event(PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, pid=-1, cpu=0, what='cpu clock'))\n"
        "    print('opened')\n"
        "except SyscallError as exc:\n"
        "    print(exc.errno, exc)\n")
    assert out.split()[0] in (str(errno.EACCES), str(errno.EPERM)), out
    assert "perf_event_paranoid" in out and "cpu clock" in out


def test_error_carries_errno_and_op(no_fd_leak):
    with pytest.raises(SyscallError) as info:
        bpf(Cmd.MAP_CREATE, MapCreateAttr(map_type=MapType.HASH, key_size=0, value_size=4, max_entries=1), "bad map")
    assert info.value.errno == errno.EINVAL and info.value.op == "BPF_MAP_CREATE"
    assert str(info.value).startswith("BPF_MAP_CREATE of bad map failed: EINVAL (")


@pytest.mark.parametrize("err", [errno.EPERM, errno.EACCES, errno.EINVAL, errno.ENOENT, errno.E2BIG, 524])
def test_every_common_errno_has_a_hint(err):
    assert errno_hint(err) != os.strerror(err)  # ours says what to do, not just what happened
    message = str(syscall_error("BPF_PROG_LOAD", err, "x"))
    assert "\n" not in message and message.startswith("BPF_PROG_LOAD of x failed: E")
