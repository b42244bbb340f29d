"""BTFBuilder: what it writes reads back unchanged, and the kernel accepts it for a typed map."""

from __future__ import annotations

import ctypes
import json
import subprocess

import pytest

from purebpf.btf import BTF, BTFBuilder, BTFLoadError, Kind, Linkage, load_btf, render_raw
from purebpf.btf.types import Member
from purebpf.errors import InvalidInputError
from purebpf.sys import Cmd, MapType, bpf
from purebpf.sys.attrs import MapCreateAttr, MapElemAttr, MapInfo, ObjInfoAttr


def _every_kind() -> BTFBuilder:
    b = BTFBuilder()
    u32 = b.add_int("unsigned int", 4)
    i64 = b.add_int("long long int", 8, signed=True)
    ch = b.add_int("char", 1, signed=True, char=True)
    b.add_float("double", 8)
    ptr = b.add_ptr(ch)
    arr = b.add_array(u32, 4)
    key = b.add_struct("key", [("pid", u32), ("ts", i64), ("name", arr)])
    b.add_struct("flags", [Member("a", u32, 0, 3), Member("b", u32, 3, 5)], size=4)
    b.add_union("either", [("p", ptr), ("n", i64)])
    b.add_enum("state", {"IDLE": 0, "BUSY": 7})
    b.add_enum("wide", {"BIG": 1 << 40})
    b.add_fwd("later")
    td = b.add_typedef("key_t", key)
    b.add_volatile(b.add_const(b.add_restrict(ptr)))
    tagged = b.add_type_tag("user", ch)
    b.add_ptr(tagged)
    proto = b.add_func_proto(i64, [("k", b.add_ptr(td)), ("fmt", ptr)], variadic=True)
    func = b.add_func("handle", proto)
    b.add_decl_tag("kfunc", func)
    var = b.add_var("counter", u32, Linkage.GLOBAL)
    b.add_datasec(".bss", [(var, 0, 4)])
    return b


def test_round_trip_every_kind():
    b = _every_kind()
    btf = b.to_btf()
    assert {t.kind for t in btf} == set(Kind) - {Kind.UNKN}
    for tid in btf.ids():
        assert btf.type_by_id(tid) == b.type_by_id(tid)  # dataclass equality, field by field
    assert btf.member_offset("key", "ts") == 8 and btf.sizeof("key") == 32
    assert btf.member_bit_offset("flags", "b") == 3
    assert btf.find("handle")[0].linkage == Linkage.GLOBAL
    proto = btf.type_by_id(btf.find("handle")[0].type)
    assert proto.variadic and [p.name for p in proto.params[:2]] == ["k", "fmt"]
    assert btf.enum_values("wide") == {"BIG": 1 << 40} and btf.find("wide")[0].kind == Kind.ENUM64
    # and re-encoding what was read gives the same bytes
    again = BTFBuilder()
    for t in btf:
        again.add(t)
    assert again.to_bytes() == b.to_bytes()


def test_builder_rejects_bad_input():
    b = BTFBuilder()
    with pytest.raises(InvalidInputError, match="not defined yet"):
        b.add_ptr(5)
    with pytest.raises(InvalidInputError, match="size 3"):
        b.add_int("odd", 3)
    u32 = b.add_int("unsigned int", 4)
    with pytest.raises(InvalidInputError, match="members need"):
        b.add_struct("tiny", [("a", u32), ("b", u32)], size=4)


def _map_id(fd: int) -> int:
    info = MapInfo()
    bpf(Cmd.OBJ_GET_INFO_BY_FD, ObjInfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=ctypes.addressof(info)))
    return info.id


def test_kernel_accepts_typed_map(no_fd_leak, bpftool_exe):
    b = BTFBuilder()
    u32 = b.add_int("unsigned int", 4)
    u64 = b.add_int("long long unsigned int", 8)
    i32 = b.add_int("int", 4, signed=True)
    key = b.add_struct("flow_key", [("saddr", u32), ("dport", u32)])
    value = b.add_struct("flow_stats", [("packets", u64), ("bytes", u64)])
    ctx = b.add_ptr(0)
    b.add_func("count_flow", b.add_func_proto(i32, [("ctx", ctx)]))
    data = b.to_bytes()
    assert BTF.from_bytes(data).member_offset("flow_stats", "bytes") == 8  # our reader agrees first

    btf_fd = load_btf(data)
    try:
        attr = MapCreateAttr(map_type=MapType.HASH, key_size=8, value_size=16, max_entries=4,
                             map_name=b"pb_btf_test", btf_fd=btf_fd.raw, btf_key_type_id=key,
                             btf_value_type_id=value)
        from purebpf.sys import FD
        map_fd = FD(bpf(Cmd.MAP_CREATE, attr, "BTF-typed hash map"))
        try:
            k = (ctypes.c_uint32 * 2)(0x0100007F, 443)
            v = (ctypes.c_uint64 * 2)(3, 1500)
            bpf(Cmd.MAP_UPDATE_ELEM, MapElemAttr(map_fd=map_fd.raw, key=ctypes.addressof(k),
                                                 value=ctypes.addressof(v)))
            out = subprocess.run([bpftool_exe, "-j", "map", "dump", "id", str(_map_id(map_fd.raw))],
                                 capture_output=True, text=True, check=True).stdout
            (entry,) = json.loads(out)
            assert entry["formatted"] == {"key": {"saddr": 0x0100007F, "dport": 443},
                                          "value": {"packets": 3, "bytes": 1500}}
        finally:
            map_fd.close()
    finally:
        btf_fd.close()


def test_kernel_rejection_carries_the_log(no_fd_leak):
    b = BTFBuilder()
    u32 = b.add_int("unsigned int", 4)
    b.add_struct("0bad-name", [("x", u32)])  # not a C identifier: the kernel says so
    with pytest.raises(BTFLoadError, match="kernel rejected the BTF") as info:
        load_btf(b.to_bytes())
    assert "Invalid name" in info.value.log
    with pytest.raises(InvalidInputError, match="empty BTF"):
        load_btf(b"")


def test_raw_of_built_btf_matches_bpftool(tmp_path, bpftool_exe):
    path = tmp_path / "built.btf"
    path.write_bytes(_every_kind().to_bytes())
    theirs = subprocess.run([bpftool_exe, "btf", "dump", "file", str(path), "format", "raw"],
                            capture_output=True, text=True, check=True).stdout
    assert render_raw(BTF.from_file(str(path))) == theirs
