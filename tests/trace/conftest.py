"""Fixtures the trace tests share."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def workload(tmp_path_factory) -> str:
    """``pbtwork`` (workload.c) built once: syscalls and a struct-passing function the tests trace."""
    out = tmp_path_factory.mktemp("work") / "pbtwork"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(HERE / "workload.c")], check=True)
    return str(out)
