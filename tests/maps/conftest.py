"""Fixtures for map tests: a private bpffs directory and a trivial program."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from purebpf.asm import R0, exit_, mov
from purebpf.programs import Program
from purebpf.sys import ProgType
from purebpf.sys.fs import bpffs


@pytest.fixture
def pin_dir():
    """A fresh directory in bpffs, removed (with any pins in it) afterwards."""
    path = bpffs() / f"purebpf-test-maps-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def return_zero(prog_type: ProgType = ProgType.SOCKET_FILTER, name: str = "ret0") -> Program:
    return Program(prog_type, [mov(R0, 0), exit_()], name=name)


@pytest.fixture
def prog():
    with return_zero() as p:
        yield p
