"""Kernel member offsets remembered across runs (purebpf.btf.offsets)."""

from __future__ import annotations

import os

import pytest

from purebpf.btf import BTF
from purebpf.btf import offsets as off
from purebpf.errors import NotFoundError


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache directory and no table read yet in this process."""
    monkeypatch.setenv("PUREBPF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(off, "_table", None)
    return tmp_path


def _cache_files(path) -> list[str]:
    return sorted(n for n in os.listdir(path) if n.startswith(off.KIND))


def test_offset_matches_btf_and_is_written(fresh):
    want = BTF.load_kernel().member_offset("task_struct", "real_parent")
    assert off.kernel_member_offset("task_struct", "real_parent") == want
    [name] = _cache_files(fresh)
    assert off.kernel_key() in name
    with open(fresh / name) as f:
        assert f.read() == f"task_struct.real_parent {want}\n"


def test_second_process_reads_the_cache_not_btf(fresh, monkeypatch):
    off.kernel_member_offset("task_struct", "tgid")
    monkeypatch.setattr(off, "_table", None)  # as a new process: only the file is left
    [name] = _cache_files(fresh)
    with open(fresh / name, "w") as f:
        f.write("task_struct.tgid 4242\n")  # a value BTF would never give: proves the file was read
    assert off.kernel_member_offset("task_struct", "tgid") == 4242


def test_other_boots_are_forgotten(fresh):
    stale = fresh / f"{off.KIND}-00000000-0000-0000-0000-000000000000-1.bin"
    stale.write_text("task_struct.pid 1\n")
    off.kernel_member_offset("task_struct", "pid")
    assert not stale.exists()
    assert len(_cache_files(fresh)) == 1


def test_missing_member_raises_and_is_not_cached(fresh):
    with pytest.raises(NotFoundError):
        off.kernel_member_offset("task_struct", "purebpf_no_such_member")
    assert _cache_files(fresh) == []


def test_garbage_in_the_cache_is_ignored(fresh, monkeypatch):
    key = off.kernel_key()
    (fresh / f"{off.KIND}-{key}.bin").write_bytes(b"\xff\xfe nonsense\ntask_struct.pid -3\n")
    want = BTF.load_kernel().member_offset("task_struct", "pid")
    assert off.kernel_member_offset("task_struct", "pid") == want


def test_cache_turned_off(monkeypatch):
    monkeypatch.setenv("PUREBPF_CACHE_DIR", "")
    monkeypatch.setattr(off, "_table", None)
    assert off.kernel_member_offset("task_struct", "pid") == BTF.load_kernel().member_offset("task_struct", "pid")
