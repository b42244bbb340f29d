"""Fixtures for the BTF tests: the kernel's BTF, bpftool's view of it, a rendered vmlinux.h."""

from __future__ import annotations

import shutil
import subprocess

import pytest

VMLINUX = "/sys/kernel/btf/vmlinux"


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (the oracle for this test; .ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def clang_exe() -> str:
    return need_tool("clang")


@pytest.fixture(scope="session")
def bpftool_exe() -> str:
    return need_tool("bpftool")


@pytest.fixture(scope="session")
def kernel_btf():
    from purebpf.btf import BTF
    return BTF.load_kernel()


@pytest.fixture(scope="session")
def bpftool_raw() -> str:
    bpftool = need_tool("bpftool")
    return subprocess.run([bpftool, "btf", "dump", "file", VMLINUX, "format", "raw"], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def vmlinux_h(kernel_btf, tmp_path_factory):
    """Our whole vmlinux.h, written once for all the compile tests."""
    from purebpf.btf import render_c
    path = tmp_path_factory.mktemp("btf") / "vmlinux.h"
    path.write_text(render_c(kernel_btf))
    return path
