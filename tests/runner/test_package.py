"""eunomia-bpf packages: written by ``purebpf package``, read back by ``purebpf run``."""

from __future__ import annotations

import base64
import json
import os
import time
import zlib

import pytest

from purebpf.errors import InvalidInputError
from purebpf.runner.package import read_package
from tests.runner.conftest import run_cli


@pytest.fixture
def package(bpf_objects, tmp_path):
    def make(name: str, *extra: str) -> tuple[str, dict]:
        out = tmp_path / f"{name}.json"
        res = run_cli("package", bpf_objects[name], "-o", str(out), *extra)
        assert res.returncode == 0, res.stderr
        return str(out), json.loads(out.read_text())
    return make


def test_package_shape(package, bpf_objects):
    path, doc = package("options", "--brief", "echo the options")
    with open(bpf_objects["options"], "rb") as f:
        elf = f.read()
    assert set(doc) == {"bpf_object", "bpf_object_size", "meta"}
    assert zlib.decompress(base64.b64decode(doc["bpf_object"])) == elf and doc["bpf_object_size"] == len(elf)
    meta = doc["meta"]
    (export,) = meta["export_types"]
    assert export["name"] == "config" and export["size"] == 48
    assert export["members"][:3] == [{"name": "target_pid", "type": "__u32"}, {"name": "level", "type": "int"},
                                     {"name": "mode", "type": "enum mode"}]
    skel = meta["bpf_skel"]
    assert skel["obj_name"] == "options" and skel["doc"] == {"brief": "echo the options"}
    assert skel["progs"] == [{"name": "echo_config", "attach": "tp/syscalls/sys_enter_getpid", "link": True}]
    maps = {m["name"]: m for m in skel["maps"]}
    assert maps["configs"] == {"name": "configs", "ident": "configs", "mmaped": False}
    assert maps["options.rodata"]["ident"] == "rodata" and maps["options.rodata"]["mmaped"] is True
    rodata = next(s for s in skel["data_sections"] if s["name"] == ".rodata")
    assert {"name": "label", "type": "char[12]", "value": "none"} in rodata["variables"]
    assert {"name": "target_pid", "type": "__u32"} in rodata["variables"]
    assert meta["perf_buffer_pages"] == 64 and meta["poll_timeout_ms"] == 100


def test_histogram_maps_are_marked_as_samples(package):
    _, doc = package("writehist", "--hist", "buckets", "--interval", "0.5")
    maps = {m["name"]: m for m in doc["meta"]["bpf_skel"]["maps"]}
    assert maps["hists"]["sample"] == {"interval": 1000, "type": "log2_hist", "unit": "(unit)", "clear_map": False}
    assert maps["buckets"]["sample"]["interval"] == 500
    assert doc["meta"]["export_types"] == []


def test_round_trip_runs_the_package(package, running):
    path, _ = package("options")
    run = running(path, "--target-pid", str(os.getpid()), "--label", "pkg", "-j")
    os.getpid()
    time.sleep(0.3)
    out, err = run.stop()
    assert run.proc.returncode == 0, err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["label"] == "pkg" and row["mode"] == "MODE_FAST" and row["target_pid"] == os.getpid()


def test_eunomia_shaped_package(bpf_objects, tmp_path, running):
    """What eunomia-bpf's ecc writes: progs may be null, cmdarg renames an option, value sets a default,
    export_types names the record struct, a sample map has no unit."""
    with open(bpf_objects["options"], "rb") as f:
        elf = f.read()
    doc = {
        "bpf_object": base64.b64encode(zlib.compress(elf)).decode(),
        "bpf_object_size": len(elf),
        "meta": {
            "bpf_skel": {
                "obj_name": "options",
                "data_sections": [{"name": ".rodata", "variables": [
                    {"name": "target_pid", "type": "__u32", "cmdarg": {"long": "pid", "short": "p",
                                                                          "help": "process to watch"}},
                    {"name": "label", "type": "char[12]", "value": "from-meta"}]}],
                "maps": [{"name": "configs", "ident": "configs"}],
                "progs": None,
                "doc": {"brief": "options echo", "details": "test package"},
            },
            "export_types": [{"name": "config", "members": [], "size": 48, "type_id": 0}],
            "eunomia_version": "0.3.3",
        },
    }
    path = tmp_path / "package.json"
    path.write_text(json.dumps(doc))
    res = run_cli("run", str(path), "--help")
    text = " ".join(res.stdout.split())
    assert "-p N, --pid N process to watch. const volatile __u32 target_pid" in text and "options echo" in text
    assert "default: 'from-meta'" in text
    run = running(str(path), "-p", str(os.getpid()), "-j")
    os.getpid()
    time.sleep(0.3)
    out, err = run.stop()
    assert run.proc.returncode == 0, err
    assert json.loads(out.splitlines()[0])["label"] == "from-meta"


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"meta": {}}', "no \"bpf_object\" string"),
    ('{"bpf_object": "@@@"}', "not valid base64"),
    ('{"bpf_object": "aGVsbG8="}', "not zlib-compressed"),
    (json.dumps({"bpf_object": base64.b64encode(zlib.compress(b"hello")).decode(), "bpf_object_size": 3}),
     "says 3 bytes but the object has 5"),
])
def test_bad_packages(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        read_package(str(path))
    res = run_cli("run", str(path))
    assert res.returncode == 1 and len(res.stderr.splitlines()) == 1 and message.split()[0] in res.stderr
