"""Fixtures for program tests: a private bpffs directory that is removed afterwards."""

from __future__ import annotations

import os
import shutil

import pytest

from purebpf.sys.fs import bpffs


@pytest.fixture
def pin_dir():
    path = bpffs() / f"purebpf-test-programs-{os.getpid()}"
    path.mkdir(exist_ok=True)
    yield path
    for entry in path.iterdir():
        entry.unlink()
    shutil.rmtree(path, ignore_errors=True)
    assert not path.exists()
