"""Compile the test programs in tests/bpf with clang, once per session, on demand."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BPF_SRC = Path(__file__).resolve().parent.parent / "bpf"
INCLUDES = ["-I/usr/include/x86_64-linux-gnu"]


class BpfObjects:
    """``objs["globals"]`` -> path of tests/bpf/globals.bpf.c compiled with ``clang -O2 -g -target bpf``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._built: dict[str, str] = {}

    def _vmlinux_h(self) -> None:
        header = self.out / "vmlinux.h"
        if not header.exists():
            if not shutil.which("bpftool"):
                pytest.skip("bpftool is needed to generate vmlinux.h for CO-RE test programs")
            with open(header, "w") as f:
                subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
                               stdout=f, check=True)

    def __getitem__(self, name: str) -> str:
        if name not in self._built:
            if not shutil.which("clang"):
                pytest.skip("clang is needed to build the test BPF programs")
            src = BPF_SRC / f"{name}.bpf.c"
            if "vmlinux.h" in src.read_text():
                self._vmlinux_h()
            obj = self.out / f"{name}.bpf.o"
            subprocess.run(["clang", "-O2", "-g", "-target", "bpf", *INCLUDES, f"-I{self.out}", "-c", str(src),
                            "-o", str(obj)], check=True, capture_output=True)
            self._built[name] = str(obj)
        return self._built[name]


@pytest.fixture(scope="session")
def bpf_objects(tmp_path_factory) -> BpfObjects:
    return BpfObjects(tmp_path_factory.mktemp("bpf"))
