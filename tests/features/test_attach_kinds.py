"""Attach-kind probes, cross-checked against doing the real thing in a private netns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from purebpf import features

ROOT = Path(__file__).resolve().parents[2]

# In a fresh network namespace (nothing else there), attach for real to its lo and
# print the errno (0 = attached).  Each attachment is closed before the process ends.
REAL_ATTACH = """
import sys
from purebpf.asm import R0, exit_, mov
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, Cmd, ProgType, bpf_raw
from purebpf.sys.attrs import LinkCreateAttr
kind = sys.argv[1]
prog_type, attach = {"tcx": (ProgType.SCHED_CLS, AttachType.TCX_INGRESS),
                     "xdp_link": (ProgType.XDP, AttachType.XDP)}[kind]
with Program(ProgramSpec(prog_type, [mov(R0, 2), exit_()])) as prog:
    ret, err = bpf_raw(Cmd.LINK_CREATE, LinkCreateAttr(prog_fd=prog.fd, target_fd=1, attach_type=attach))
    print(err)
"""


def _real_attach_errno(kind: str) -> int:
    out = subprocess.run(["unshare", "--net", sys.executable, "-c", REAL_ATTACH, kind], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@pytest.mark.parametrize("kind", ["tcx", "xdp_link"])
def test_link_probe_agrees_with_a_real_attachment(kind, no_fd_leak):
    probed = features.attach_kind(kind)
    err = _real_attach_errno(kind)
    assert probed.available == (err == 0), (probed, err)


@pytest.mark.parametrize("pmu", ["kprobe", "uprobe", "tracepoint"])
def test_pmu_probes_follow_sysfs(pmu):
    feature = features.attach_kind(pmu)
    assert feature.available == os.path.exists(f"/sys/bus/event_source/devices/{pmu}/type")
    if not feature.available:
        assert "CONFIG_" in feature.reason


def test_fentry_refusal_names_the_errno():
    feature = features.attach_kind("fentry")
    if feature.available:
        return
    assert feature.reason.startswith("EPERM: fentry/fexit programs are refused on this kernel")


@pytest.mark.guest_kernel
def test_fentry_and_lsm_work_on_the_guest_kernel():
    assert features.has_attach_kind("fentry")
    assert features.has_attach_kind("fexit")
    assert features.has_attach_kind("kprobe")


def test_tracepoint_kinds_here():
    assert features.has_attach_kind("tracepoint")
    assert features.has_attach_kind("raw_tracepoint")
