"""Every features test gets its own cache directory and a fresh in-process memory."""

from __future__ import annotations

import pytest

from purebpf import features


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    features.forget()
    yield tmp_path / "cache" / "purebpf"
    features.forget()
