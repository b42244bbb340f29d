"""The per-boot cache: written once, read back, ignored on another boot, never fatal."""

from __future__ import annotations

import json

from purebpf import features
from purebpf.features import cache


def test_report_is_cached_per_boot(private_cache):
    first = features.probe_all()
    assert not first.from_cache
    path = private_cache / "features.json"
    data = json.loads(path.read_text())
    assert data["key"]["boot_id"] == cache.boot_id() != ""
    features.forget()
    again = features.probe_all()
    assert again.from_cache
    assert again.program_types == first.program_types
    assert again.helpers == first.helpers
    assert again.probe_seconds == first.probe_seconds


def test_refresh_probes_again(private_cache):
    features.probe_all()
    features.forget()
    assert not features.probe_all(refresh=True).from_cache


def test_another_boot_misses(private_cache):
    features.probe_all()
    path = private_cache / "features.json"
    data = json.loads(path.read_text())
    data["key"]["boot_id"] = "00000000-0000-0000-0000-000000000000"
    path.write_text(json.dumps(data))
    assert cache.load() is None
    features.forget()
    assert not features.probe_all().from_cache


def test_corrupt_cache_is_ignored(private_cache):
    private_cache.mkdir(parents=True)
    (private_cache / "features.json").write_text("{not json")
    assert not features.probe_all().from_cache


def test_unwritable_cache_is_silent(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no directory can be made under it
    report = features.probe_all()
    assert not report.from_cache
    assert cache.load() is None


def test_cached_answers_serve_single_questions(private_cache):
    report = features.probe_all()
    report.map_types["hash"].reason = "marker"  # visible only if has_* reads the report
    features.prog_type.cache_clear()
    features.map_type.cache_clear()
    from purebpf.sys import MapType
    assert features.map_type(MapType.HASH).reason == "marker"
