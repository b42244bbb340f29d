"""CO-RE resolution against a synthetic "other kernel" whose types are laid out differently.

Builds a target BTF with the builder, relocates the CO-RE test program's
section against it, and reads the patched instructions back.
"""

from __future__ import annotations

import struct

import pytest

from purebpf.btf.builder import BTFBuilder
from purebpf.btf.core import POISON_IMM, CoreError, CoreRelo, CoreReloKind, relocate_section
from purebpf.elf import read_object

K = CoreReloKind
SECTION = "tracepoint/syscalls/sys_enter_getppid"


def other_kernel(with_real_parent: bool = True):
    b = BTFBuilder()
    i32 = b.add_int("int", 4, signed=True)
    u32 = b.add_int("unsigned int", 4)
    i64 = b.add_int("long", 8, signed=True)
    fwd = b.add_fwd("task_struct")
    ptr = b.add_ptr(fwd)
    members = [("pad", b.add_array(i64, 3), 0), ("prio", i32, 192), ("tgid", i32, 224),
               ("other", u32, 256, 3), ("in_execve", u32, 259, 1)]
    if with_real_parent:
        members.append(("real_parent", ptr, 320))
    task = b.add_struct("task_struct", members, size=48)
    b.add_enum("pid_type", {"PIDTYPE_PID": 0, "PIDTYPE_TGID": 7})
    return b.to_btf(), task


def insn(code: bytearray, idx: int) -> tuple[int, int, int, int]:
    op, regs, off, imm = struct.unpack_from("<BBhi", code, idx * 8)
    return op, regs >> 4, off, imm


def relocated(bpf_objects, target):
    spec = read_object(bpf_objects["core"])
    sec = spec.elf.section(SECTION)
    code = bytearray(sec.data)
    relos = spec.ext.core_relos[SECTION]
    poisoned = relocate_section(code, relos, spec.btf, target, SECTION)
    return spec, code, relos, poisoned


def value_at(code, relo: CoreRelo) -> int:
    op, _src, off, imm = insn(code, relo.insn)
    if op & 0x07 in (0x01, 0x02, 0x03):   # LDX/ST/STX: the offset
        return off
    if op == 0x18:
        return (imm & 0xFFFFFFFF) | (insn(code, relo.insn + 1)[3] << 32)
    return imm


def test_every_kind_follows_the_target_layout(bpf_objects):
    target, task_id = other_kernel()
    spec, code, relos, poisoned = relocated(bpf_objects, target)
    assert poisoned == {}
    by = {}
    for r in relos:
        field = spec.btf.type_by_id(spec.btf.resolve(r.type_id).id)
        name = field.name
        if r.kind in (K.FIELD_BYTE_OFFSET, K.FIELD_EXISTS, K.FIELD_BYTE_SIZE, K.FIELD_SIGNED,
                      K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64):
            idx = int(r.access.split(":")[-1]) if ":" in r.access else None
            member = field.members[idx].name if idx is not None else ""
            by.setdefault((r.kind, name, member), []).append(value_at(code, r))
        else:
            by.setdefault((r.kind, name, ""), []).append(value_at(code, r))
    assert by[(K.FIELD_BYTE_OFFSET, "task_struct", "real_parent")] == [40]
    assert by[(K.FIELD_BYTE_OFFSET, "task_struct", "tgid")] == [28]
    assert by[(K.FIELD_EXISTS, "task_struct", "real_parent")] == [1]
    assert by[(K.FIELD_EXISTS, "task_struct___old", "made_up_field")] == [0]
    assert by[(K.ENUMVAL_VALUE, "pid_type", "")] == [7]
    assert by[(K.ENUMVAL_EXISTS, "pid_type", "")] == [1]
    assert by[(K.TYPE_SIZE, "task_struct", "")] == [48]
    assert by[(K.TYPE_ID_TARGET, "task_struct", "")] == [task_id]
    assert by[(K.TYPE_EXISTS, "task_struct___old", "")] == [1]
    assert by[(K.FIELD_SIGNED, "task_struct", "prio")] == [1]
    # in_execve: 1 bit at bit 259 -> 4-byte load at byte 32, bit 3 within it
    assert by[(K.FIELD_BYTE_OFFSET, "task_struct", "in_execve")] == [32]
    assert by[(K.FIELD_BYTE_SIZE, "task_struct", "in_execve")] == [4]
    assert by[(K.FIELD_LSHIFT_U64, "task_struct", "in_execve")] == [64 - (259 + 1 - 32 * 8)]
    assert by[(K.FIELD_RSHIFT_U64, "task_struct", "in_execve")] == [63, 63]
    assert by[(K.FIELD_SIGNED, "task_struct", "in_execve")] == [0]


def test_missing_field_is_poisoned_with_a_reason(bpf_objects):
    target, _ = other_kernel(with_real_parent=False)
    spec, code, relos, poisoned = relocated(bpf_objects, target)
    offset_relo = next(r for r in relos if r.kind == K.FIELD_BYTE_OFFSET and r.access == relos[0].access)
    assert offset_relo.insn in poisoned
    assert poisoned[offset_relo.insn].startswith("kernel struct task_struct has no field real_parent")
    op, _src, _off, imm = insn(code, offset_relo.insn)
    assert (op, imm & 0xFFFFFFFF) == (0x85, POISON_IMM)
    exists = next(r for r in relos if r.kind == K.FIELD_EXISTS and r.access == offset_relo.access)
    assert value_at(code, exists) == 0        # bpf_core_field_exists() answers 0, not poison


def test_missing_type_is_poisoned(bpf_objects):
    b = BTFBuilder()
    b.add_int("int", 4, signed=True)
    spec, code, relos, poisoned = relocated(bpf_objects, b.to_btf())
    assert any("the kernel has no struct task_struct" in why for why in poisoned.values())
    size = next(r for r in relos if r.kind == K.TYPE_SIZE)
    assert value_at(code, size) == 0          # type relocations answer 0 when the type is absent


def test_ambiguous_candidates_are_refused(bpf_objects):
    b = BTFBuilder()
    i32 = b.add_int("int", 4, signed=True)
    b.add_struct("task_struct", [("tgid", i32, 0)], size=8)
    b.add_struct("task_struct", [("pad", i32, 0), ("tgid", i32, 32)], size=8)
    spec = read_object(bpf_objects["core"])
    code = bytearray(spec.elf.section(SECTION).data)
    tgid = next(r for r in spec.ext.core_relos[SECTION] if r.kind == K.FIELD_BYTE_OFFSET and r.access == "0:93")
    with pytest.raises(CoreError, match="ambiguous"):
        relocate_section(code, [tgid], spec.btf, b.to_btf(), SECTION)


def test_core_against_the_running_kernel_matches_btf_offsets(bpf_objects):
    from purebpf.btf import BTF
    kernel = BTF.load_kernel()
    spec, code, relos, poisoned = relocated(bpf_objects, kernel)
    parent = next(r for r in relos if r.kind == K.FIELD_BYTE_OFFSET and r.access == relos[0].access)
    assert value_at(code, parent) == kernel.member_offset("task_struct", "real_parent")
    assert poisoned == {}
