"""The lazy reader against the running kernel's BTF, with bpftool as the oracle for offsets."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from purebpf.btf import BTF, BTFBuilder, Kind
from purebpf.btf.types import Int, Struct, Typedef
from purebpf.errors import InvalidInputError, NotFoundError

VMLINUX = "/sys/kernel/btf/vmlinux"


def bpftool_members(raw: str, struct: str) -> dict[str, int]:
    """``{member: bits_offset}`` of ``struct`` from bpftool's raw dump."""
    block = re.search(rf"^\[\d+\] STRUCT '{struct}' .*\n((?:\t.*\n)*)", raw, re.M)
    assert block, f"bpftool has no struct {struct}"
    return {m[0]: int(m[1]) for m in re.findall(r"\t'(\w+)' type_id=\d+ bits_offset=(\d+)", block.group(1))}


def test_task_struct_offsets_match_bpftool(kernel_btf, bpftool_raw):
    expected = bpftool_members(bpftool_raw, "task_struct")
    assert kernel_btf.member_offset("task_struct", "pid") * 8 == expected["pid"]
    assert kernel_btf.member_offset("task_struct", "real_parent") * 8 == expected["real_parent"]
    t = kernel_btf.struct("task_struct")
    assert isinstance(t, Struct) and t.kind == Kind.STRUCT
    assert {m.name: m.bit_offset for m in t.members if m.name} == expected
    assert kernel_btf.sizeof("task_struct") == t.size


def test_nested_and_anonymous_paths(kernel_btf):
    # task_struct.se.load.weight: named nesting; list_head walk through a pointer is refused by design
    se = kernel_btf.member_offset("task_struct", "se")
    load = kernel_btf.member_offset("sched_entity", "load")
    assert kernel_btf.member_offset("task_struct", "se.load.weight") == se + load
    # struct page keeps most members in anonymous unions/structs
    page = kernel_btf.struct("page")
    assert page.member("mapping") is None  # not a direct member...
    anon = [m for m in page.members if not m.name]
    assert anon
    off = kernel_btf.member_offset("page", "mapping")  # ...but found through the anonymous ones
    assert 0 < off < page.size
    # array index steps
    comm = kernel_btf.member_offset("task_struct", "comm")
    assert kernel_btf.member_offset("task_struct", "comm[3]") == comm + 3


def test_bitfield_offsets_need_bit_api(kernel_btf):
    member = kernel_btf.member("task_struct", "sched_reset_on_fork")
    assert member.bitfield_size == 1
    with pytest.raises(InvalidInputError, match="bitfield"):
        kernel_btf.member_offset("task_struct", "sched_reset_on_fork")
    assert kernel_btf.member_bit_offset("task_struct", "sched_reset_on_fork") == member.bit_offset


def test_find_resolve_sizeof(kernel_btf):
    (pid_t,) = kernel_btf.find("pid_t")
    assert isinstance(pid_t, Typedef)
    resolved = kernel_btf.resolve(pid_t)
    assert isinstance(resolved, Int) and resolved.signed and resolved.size == 4
    assert kernel_btf.sizeof("pid_t") == 4
    assert kernel_btf.sizeof("struct list_head") == 16
    assert kernel_btf.find("task_struct", kind="func") == []
    assert kernel_btf.find("no_such_type_really") == []
    assert kernel_btf.type_by_id(0).kind == Kind.UNKN
    assert kernel_btf.pointer_size == 8
    assert kernel_btf.enum_values("bpf_map_type")["BPF_MAP_TYPE_HASH"] == 1
    assert kernel_btf.enum_values("BPF_F_CURRENT_CPU")["BPF_F_INDEX_MASK"] == 0xFFFFFFFF  # anonymous ENUM64


def test_errors_name_the_thing(kernel_btf):
    with pytest.raises(NotFoundError, match="no_such_struct"):
        kernel_btf.member_offset("no_such_struct", "x")
    with pytest.raises(NotFoundError, match="no member 'nope'"):
        kernel_btf.member_offset("task_struct", "nope")
    with pytest.raises(NotFoundError, match="out of range"):
        kernel_btf.type_by_id(len(kernel_btf))
    with pytest.raises(InvalidInputError, match="unknown BTF kind"):
        kernel_btf.find("x", kind="bogus")


def test_malformed_blobs_are_rejected():
    with pytest.raises(InvalidInputError, match="not BTF"):
        BTF.from_bytes(b"\0" * 64)
    with pytest.raises(InvalidInputError, match="shorter than its header"):
        BTF.from_bytes(b"\x9f\xeb")
    good = _small_btf()
    with pytest.raises(InvalidInputError):
        BTF.from_bytes(good[:-30])  # sections now run past the end
    with pytest.raises(NotFoundError, match="does not exist"):
        BTF.from_file("/nonexistent/btf")


def _small_btf() -> bytes:
    b = BTFBuilder()
    u32 = b.add_int("unsigned int", 4)
    b.add_struct("pair", [("a", u32), ("b", u32)])
    return b.to_bytes()


def test_cache_round_trip_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("PUREBPF_CACHE_DIR", str(tmp_path))
    cold = BTF.from_file(VMLINUX)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].stat().st_size > 0
    warm = BTF.from_file(VMLINUX)
    assert len(warm) == len(cold)
    assert warm.member_offset("task_struct", "pid") == cold.member_offset("task_struct", "pid")
    files[0].write_bytes(b"garbage")  # a damaged cache is ignored, never trusted
    again = BTF.from_file(VMLINUX)
    assert again.member_offset("task_struct", "pid") == cold.member_offset("task_struct", "pid")


def test_unwritable_cache_is_silent(monkeypatch):
    monkeypatch.setenv("PUREBPF_CACHE_DIR", "/proc/purebpf-cannot-write-here")
    assert BTF.from_file(VMLINUX).find_ids("task_struct")


def test_split_btf_continues_ids_and_strings(kernel_btf):
    b = BTFBuilder(base=kernel_btf)
    task = kernel_btf.struct("task_struct").id
    ptr = b.add_ptr(task)
    holder = b.add_struct("purebpf_holder", [("task", ptr), ("pid", kernel_btf.find_ids("pid_t")[0])])
    assert holder == len(kernel_btf) + 1
    split = b.to_btf()
    assert split.first_id == len(kernel_btf) and len(split) == len(kernel_btf) + 2
    assert split.find_ids("purebpf_holder") == [holder]
    assert split.find_ids("task_struct", Kind.STRUCT) == [task]  # base types stay visible
    assert split.member_offset("purebpf_holder", "pid") == 8
    assert split.type_by_id(ptr).type == task


@pytest.mark.guest_kernel  # this host has no modules; Debian's 6.1 guest has module BTF
@pytest.mark.skipif(not any(n != "vmlinux" for n in os.listdir("/sys/kernel/btf")),
                    reason="no kernel module BTF on this kernel (modules are off); the split path is "
                           "tested with built split BTF above")
def test_module_btf():
    from purebpf.btf import load_module_btf, module_names
    name = module_names()[0]
    mod = load_module_btf(name)
    assert mod.first_id == len(BTF.load_kernel())
    assert len(mod) > mod.first_id
    own = [mod.type_by_id(i) for i in mod.ids(include_base=False)]
    assert all(t.id >= mod.first_id for t in own)
    named = next(t for t in own if t.name)
    assert named.id in mod.find_ids(named.name)


def test_module_btf_missing():
    from purebpf.btf import load_module_btf
    with pytest.raises(NotFoundError, match="no BTF for kernel module"):
        load_module_btf("purebpf_no_such_module")


def test_import_is_light():
    code = "import sys, purebpf.btf; print(sorted(m for m in ('dataclasses', 'ctypes', 'inspect') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__)))).stdout
    assert out.strip() == "[]"


def test_lookup_decodes_few_types(tmp_path, monkeypatch):
    monkeypatch.setenv("PUREBPF_CACHE_DIR", str(tmp_path))
    btf = BTF.from_file(VMLINUX)
    btf.member_offset("task_struct", "pid")
    assert len(btf._memo) < 10
