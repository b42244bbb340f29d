"""The USDT test programs (scripts/suite_programs/usdt_*), built once per test session with gcc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[2] / "scripts" / "suite_programs" / "usdt_build"


def build(out: Path) -> Path:
    """``out`` with testprogs/usdt_* and testlibs/libusdt_tp.so in it."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the USDT test programs")
    subprocess.run([str(BUILD), str(out)], check=True, capture_output=True)
    return out


def start(path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(path), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
