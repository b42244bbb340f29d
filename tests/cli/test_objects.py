"""``purebpf prog|map|link``, checked against bpftool on the same objects."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

import pytest

from purebpf.asm import R0, R1, exit_, ld_map_fd, mov
from purebpf.btf import BTFBuilder, load_btf
from purebpf.cli.main import main
from purebpf.cli.objects import hex_bytes
from purebpf.links import Cgroup, RawTracepoint
from purebpf.maps import Map, MapFlags, MapType
from purebpf.programs import Program, enable_stats
from purebpf.sys import AttachType, ProgType
from purebpf.sys.fs import bpffs


def run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def run_json(capsys, *argv: str):
    return json.loads(run(capsys, *argv, "-j"))


def bpftool(*argv: str):
    out = subprocess.run(["bpftool", "-j", *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bpftool_text(*argv: str) -> str:
    return subprocess.run(["bpftool", *argv], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def maps():
    made = [Map(MapType.HASH, 4, 8, 64, name="counts"), Map(MapType.PERCPU_ARRAY, 4, 12, 3, name="pcpu"),
            Map(MapType.LPM_TRIE, 8, 4, 8, flags=MapFlags.NO_PREALLOC, name="routes"),
            Map(MapType.HASH, 8, 24, 4, name="wide"), Map(MapType.RINGBUF, 0, 0, 4096, name="rb"),
            Map(MapType.QUEUE, 0, 4, 4)]
    counts, pcpu, routes, wide, _, queue = made
    counts.update_batch({i: i * 1000 for i in range(20)})
    pcpu[1] = [bytes([c + 1]) * 12 for c in range(pcpu.ncpus)]
    routes["10.0.0.0/8"], routes["10.1.0.0/16"] = 1, 2
    wide[7] = b"x" * 20
    queue.push(5)
    yield made
    for m in made:
        m.close()


def _mine(records, objs):
    ids = {o.id for o in objs}
    return {r["id"]: r for r in records if r["id"] in ids}


def test_map_list_matches_bpftool(capsys, maps):
    ours, theirs = _mine(run_json(capsys, "map", "list"), maps), _mine(bpftool("map", "list"), maps)
    assert set(ours) == {m.id for m in maps}
    fields = ("id", "type", "name", "flags", "bytes_key", "bytes_value", "max_entries", "bytes_memlock", "frozen")
    for map_id, rec in ours.items():
        assert {f: rec.get(f) for f in fields} == {f: theirs[map_id].get(f) for f in fields}


def test_map_list_text_like_bpftool(capsys, maps):
    counts = maps[0]
    counts.freeze()
    text = run(capsys, "map", "show", str(counts.id))
    assert text == (f"{counts.id}: hash  name counts  flags 0x0\n"
                    f"\tkey 4B  value 8B  max_entries 64  memlock {counts.memlock}B\n\tfrozen\n")
    assert bpftool_text("map", "show", "id", str(counts.id)).startswith(text)
    queue = maps[-1]
    assert run(capsys, "map", "list", str(queue.id)).startswith(f"{queue.id}: queue  flags 0x0\n")


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_map_dump_matches_bpftool(capsys, maps, index):
    m = maps[index]
    ours, theirs = run_json(capsys, "map", "dump", str(m.id)), bpftool("map", "dump", "id", str(m.id))
    assert sorted(ours, key=json.dumps) == sorted(theirs, key=json.dumps) and ours
    text, their_text = run(capsys, "map", "dump", "id", str(m.id)), bpftool_text("map", "dump", "id", str(m.id))
    # same entries, same layout (their order may differ from our batched order)
    assert sorted(re.split(r"\n(?=key:)", text)) == sorted(re.split(r"\n(?=key:)", their_text))


def test_map_dump_keyless_maps_and_pinned(capsys, maps):
    rb, queue = maps[4], maps[5]
    assert run(capsys, "map", "dump", str(rb.id)) == "Found 0 elements\n"
    assert run_json(capsys, "map", "dump", str(queue.id)) == []
    path = bpffs() / f"purebpf-test-cli-{uuid.uuid4().hex[:8]}"
    maps[0].pin(str(path))
    try:
        assert run_json(capsys, "map", "dump", str(path)) == run_json(capsys, "map", "dump", "pinned", str(path))
        assert len(run_json(capsys, "map", "dump", str(path))) == 20
    finally:
        path.unlink()


def test_map_dump_errors_are_one_line(capsys):
    assert main(["map", "dump", "2147483000"]) == 1
    assert capsys.readouterr().err == "purebpf: error: no map with id 2147483000 (see `purebpf map list`)\n"
    assert main(["map", "dump", "/sys/fs/bpf/purebpf-does-not-exist"]) == 1
    assert "nothing is pinned at" in capsys.readouterr().err


def test_map_dump_unreadable_entries_like_bpftool(capsys):
    with Map(MapType.PERF_EVENT_ARRAY, name="pe") as pe:
        records = run_json(capsys, "map", "dump", str(pe.id))
        theirs = bpftool("map", "dump", "id", str(pe.id))
        assert [r["key"] for r in records] == [r["key"] for r in theirs]
        assert all("cannot be read from user space" in r["value"]["error"] for r in records)
        assert run(capsys, "map", "dump", str(pe.id)).endswith("Found 0 elements\n")


def test_hex_layout():
    assert hex_bytes(bytes(range(18))) == ("00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n10 11")


@pytest.fixture
def progs():
    with Map(MapType.ARRAY, 4, 8, 1, name="m1") as m1, Map(MapType.HASH, 4, 4, 1, name="m2") as m2:
        insns = [ld_map_fd(R1, m1.fd), ld_map_fd(R1, m2.fd), mov(R0, 0), exit_()]
        with Program(ProgType.SOCKET_FILTER, insns, name="with_maps", license="GPL") as a, \
                Program(ProgType.XDP, [mov(R0, 2), exit_()], name="xdp_pass", license="MIT") as b:
            yield a, b, (m1, m2)


def test_prog_list_matches_bpftool(capsys, progs):
    a, b, (m1, m2) = progs
    ours, theirs = _mine(run_json(capsys, "prog", "list"), [a, b]), _mine(bpftool("prog", "list"), [a, b])
    fields = ("id", "type", "name", "tag", "gpl_compatible", "uid", "bytes_xlated", "jited", "bytes_jited",
              "bytes_memlock")
    for prog_id, rec in ours.items():
        assert {f: rec[f] for f in fields} == {f: theirs[prog_id][f] for f in fields}
        assert rec["map_ids"] == theirs[prog_id].get("map_ids", [])
        assert abs(rec["loaded_at"] - theirs[prog_id]["loaded_at"]) <= 1
    assert sorted(ours[a.id]["map_ids"]) == sorted([m1.id, m2.id]) and not ours[b.id]["gpl_compatible"]


def test_prog_text_like_bpftool(capsys, progs):
    a = progs[0]
    ours = run(capsys, "prog", "show", str(a.id)).splitlines()
    theirs = bpftool_text("prog", "show", "id", str(a.id)).splitlines()
    assert ours[0] == theirs[0] and ours[0].startswith(f"{a.id}: socket_filter  name with_maps  tag ")
    assert ours[1].split("  uid")[1] == theirs[1].split("  uid")[1]
    assert ours[2] == theirs[2] and "map_ids" in ours[2]


def test_prog_run_stats(capsys, progs):
    b = progs[1]
    with enable_stats():
        b.test_run(bytes(64), repeat=3)
        rec = run_json(capsys, "prog", "list", str(b.id))[0]
        assert rec["run_cnt"] == 3 and rec["run_time_ns"] > 0
        head = run(capsys, "prog", "list", str(b.id)).splitlines()[0]
        assert head.endswith(f"tag {rec['tag']} run_time_ns {rec['run_time_ns']} run_cnt 3")  # MIT: no gpl
        assert bpftool("prog", "show", "id", str(b.id))["run_cnt"] == 3


def test_link_list_raw_tracepoint(capsys):
    with Program(ProgType.RAW_TRACEPOINT, [mov(R0, 0), exit_()], name="rawtp") as prog, \
            RawTracepoint(prog, "sys_enter") as link:
        link_id = link.id
        ours = _mine(run_json(capsys, "link", "list"), [link])[link_id]
        theirs = _mine(bpftool("link", "list"), [link])[link_id]
        assert ours == {"id": link_id, "type": "raw_tracepoint", "prog_id": prog.id, "tp_name": "sys_enter"}
        assert {k: theirs[k] for k in ours} == ours
        assert run(capsys, "link", "show", str(link_id)) == f"{link_id}: raw_tracepoint  prog {prog.id}\n" \
                                                            "\ttp 'sys_enter'\n"


def _cgroup2_root() -> str | None:
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


def test_link_list_cgroup(capsys):
    root = _cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 mount")
    cg = os.path.join(root, f"purebpf-test-{uuid.uuid4().hex[:8]}")
    os.mkdir(cg)
    try:
        with Program(ProgType.CGROUP_SKB, [mov(R0, 1), exit_()], name="allow") as prog, \
                Cgroup(prog, cg, AttachType.CGROUP_INET_INGRESS) as link:
            ours = run_json(capsys, "link", "list", str(link.id))[0]
            theirs = _mine(bpftool("link", "list"), [link])[link.id]
            assert ours["cgroup_id"] == theirs["cgroup_id"] == os.stat(cg).st_ino
            assert ours["attach_type"] == theirs["attach_type"] == "cgroup_inet_ingress"
            text = run(capsys, "link", "list", str(link.id))
            assert text == (f"{link.id}: cgroup  prog {prog.id}\n"
                            f"\tcgroup_id {ours['cgroup_id']}  attach_type cgroup_inet_ingress\n")
    finally:
        os.rmdir(cg)


def test_bare_subcommand_lists(capsys, progs):
    a = progs[0]
    assert f"\n{a.id}: socket_filter" in "\n" + run(capsys, "prog")
    assert any(r["id"] == a.id for r in run_json(capsys, "prog"))


def test_map_dump_decodes_btf_like_bpftool(capsys):
    b = BTFBuilder()
    u32, u16 = b.add_int("unsigned int", 4), b.add_int("short unsigned int", 2)
    u64 = b.add_int("long long int", 8, signed=True)
    char = b.add_int("char", 1, signed=True)
    pair = b.add_struct("pair", [("a", u16), ("b", u16)])
    state = b.add_enum("state", {"IDLE": 0, "RUNNING": 1})
    event = b.add_struct("event", [("pid", u32), ("comm", b.add_array(char, 16)), ("pair", pair),
                                   ("vals", b.add_array(u64, 2)), ("st", state)])
    key = b.add_struct("key", [("pid", u32), ("cpu", u32)])
    fd = load_btf(b.to_bytes())
    try:
        m = Map(MapType.HASH, 8, b.sizeof(event), 4, btf_fd=fd.raw, btf_key_type_id=key, btf_value_type_id=event,
                name="events")
    finally:
        fd.close()
    with m, Map.from_id(m.id) as typed:
        typed[{"pid": 9, "cpu": 1}] = {"pid": 9, "comm": "sshd", "pair": {"a": 1, "b": 2}, "vals": [-1, 3],
                                       "st": "IDLE"}
        ours, theirs = run_json(capsys, "map", "dump", str(m.id)), bpftool("map", "dump", "id", str(m.id))
        assert ours == theirs and ours[0]["formatted"]["value"]["comm"] == "sshd"
        assert run(capsys, "map", "dump", str(m.id)) == (
            'key: {"pid": 9, "cpu": 1}  value: {"pid": 9, "comm": "sshd", "pair": {"a": 1, "b": 2}, '
            '"vals": [-1, 3], "st": "IDLE"}\nFound 1 element\n')
        assert "btf_id" in run_json(capsys, "map", "list", str(m.id))[0]
