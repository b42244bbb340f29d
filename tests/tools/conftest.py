"""The compiled workload every tool test watches."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.tools.harness import WORK_COMM, WORK_SRC


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> str:
    """Path of the compiled workload program (its comm is ``pbtoolwork``)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the test workload")
    out = tmp_path_factory.mktemp("work") / WORK_COMM
    subprocess.run(["gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-o", str(out), str(WORK_SRC)], check=True)
    return str(out)
