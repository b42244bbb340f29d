"""Shared fixtures: root checks, the guest-kernel marker, fd leak accounting."""

from __future__ import annotations

import os

import pytest

IN_GUEST = bool(os.environ.get("GUEST_KERNEL"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "guest_kernel" in item.keywords and not IN_GUEST:
            item.add_marker(pytest.mark.skip(
                reason="needs the guest kernel (kprobes, fentry/fexit, LSM, or an older kernel's fallback "
                       "path): runs under shared/tools/guest-kernel, as scripts/test does"))


@pytest.fixture(autouse=True, scope="session")
def _require_root():
    if os.geteuid() != 0:
        pytest.skip("purebpf's kernel tests need root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)")


def open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


@pytest.fixture
def no_fd_leak():
    """Fails the test if it ends with more open fds than it started with."""
    before = open_fds()
    yield
    import gc
    gc.collect()
    leaked = open_fds() - before
    leaked = {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not leaked, f"leaked fds: {[os.readlink(f'/proc/self/fd/{fd}') for fd in leaked]}"
