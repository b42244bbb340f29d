"""``purebpf features``: text and JSON output, and an oracle check against
``bpftool feature probe -j`` for the program and map types both know."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from purebpf.cli.main import main

# libbpf (behind bpftool) probes the tracing type through fentry only; purebpf
# probes it through tp_btf and reports fentry separately under attach_kinds.
# On a kernel that refuses fentry but loads tp_btf the two answers differ by design.
DIFFERENT_QUESTION = {"tracing"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    from purebpf import features
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    features.forget()
    yield
    features.forget()


def _ours(capsys, *extra: str) -> dict:
    assert main(["features", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _bpftool() -> dict:
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool (the oracle) is not installed")
    out = subprocess.run(["bpftool", "feature", "probe", "-j"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _theirs(section: dict, suffix: str) -> dict[str, bool]:
    return {key[len("have_"):-len(suffix)]: value for key, value in section.items()
            if key.startswith("have_") and key.endswith(suffix)}


def test_program_types_agree_with_bpftool(capsys):
    ours = _ours(capsys)["program_types"]
    theirs = _theirs(_bpftool()["program_types"], "_prog_type")
    both = set(ours) & set(theirs)
    assert len(both) >= 25
    disagree = {name: (ours[name], theirs[name]) for name in both - DIFFERENT_QUESTION
                if ours[name]["available"] != theirs[name]}
    assert not disagree
    if theirs["tracing"]:  # when libbpf's fentry probe says yes, tp_btf must load too
        assert ours["tracing"]["available"]


def test_map_types_agree_with_bpftool(capsys):
    ours = _ours(capsys)["map_types"]
    theirs = _theirs(_bpftool()["map_types"], "_map_type")
    both = set(ours) & set(theirs)
    assert len(both) >= 25
    disagree = {name: (ours[name], theirs[name]) for name in both if ours[name]["available"] != theirs[name]}
    assert not disagree


def test_text_output_reads_like_bpftool(capsys):
    assert main(["features", "--no-helpers"]) == 0
    out = capsys.readouterr().out
    assert "Scanning eBPF program types..." in out
    assert "eBPF program_type socket_filter is available" in out
    assert "eBPF map_type hash is available" in out
    assert "Scanning attach kinds..." in out
    assert "eBPF helpers supported" not in out
    for line in out.splitlines():
        if "is NOT available" in line:
            assert re.search(r"is NOT available \((E[A-Z0-9]+: |no '|vmlinux BTF).*\)$", line), line


def test_helpers_listed_in_text(capsys):
    assert main(["features"]) == 0
    out = capsys.readouterr().out
    assert "eBPF helpers supported for program type xdp:" in out
    assert "\t- bpf_xdp_adjust_head" in out


def test_refresh_and_cache_flags(capsys):
    assert _ours(capsys)["from_cache"] is False
    from purebpf import features
    features.forget()
    assert _ours(capsys)["from_cache"] is True
    assert _ours(capsys, "--refresh")["from_cache"] is False
