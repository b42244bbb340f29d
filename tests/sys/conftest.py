"""The running kernel's own C view of its types (``bpftool btf dump ... format c``),
generated once per session for the ABI checks in this directory."""

from __future__ import annotations

import shutil
import subprocess

import pytest

VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


@pytest.fixture(scope="session")
def vmlinux_h(tmp_path_factory):
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is needed to render the kernel's BTF as C")
    out = subprocess.run(["bpftool", "btf", "dump", "file", VMLINUX_BTF, "format", "c"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    path = tmp_path_factory.mktemp("btf") / "vmlinux.h"
    path.write_text(out.stdout)
    return path
