"""Record: the dataclass-like base of Instruction, ProgramSpec and MapSpec (purebpf._record)."""

from __future__ import annotations

import pytest

from purebpf.asm import Instruction, mov
from purebpf.maps import MapSpec
from purebpf.programs import ProgramSpec
from purebpf.sys import MapType, ProgType


def test_equality_by_class_and_fields():
    assert Instruction(0xB7, 1, imm=5) == Instruction(0xB7, 1, 0, 0, 5)
    assert Instruction(0xB7, 1, imm=5) != Instruction(0xB7, 1, imm=6)
    assert MapSpec(MapType.HASH, 4, 8, 16) == MapSpec(MapType.HASH, 4, 8, 16, name="")
    assert MapSpec(MapType.HASH, 4, 8, 16) != (MapType.HASH, 4, 8, 16)


def test_repr_reads_like_a_dataclass():
    assert repr(Instruction(0xB7, 1, imm=5)) == ("Instruction(opcode=183, dst=1, src=0, off=0, imm=5, label=None, "
                                                 "target=None, map=None)")
    assert repr(MapSpec(MapType.ARRAY, 4, 4, 1, name="a")).startswith(
        "MapSpec(type=<MapType.ARRAY: 2>, key_size=4, value_size=4, max_entries=1, name='a', flags=0,")


def test_replace_copies_and_changes():
    spec = ProgramSpec(ProgType.XDP, [mov(0, 0)], name="x")
    other = spec.replace(name="y")
    assert (other.name, spec.name) == ("y", "x")
    assert other.insns is spec.insns and other.type is ProgType.XDP
    assert spec.replace() == spec and spec.replace() is not spec
    with pytest.raises(TypeError):
        spec.replace(no_such_field=1)


def test_mutable_and_unhashable_like_a_dataclass():
    spec = MapSpec(MapType.HASH, 4, 8, 16)
    spec.max_entries = 32
    assert spec.max_entries == 32
    with pytest.raises(TypeError):
        hash(spec)
    insn = Instruction(0x95)
    with pytest.raises(AttributeError):
        insn.extra = 1  # slots: a typo in a field name is an error, as with dataclass(slots=True)
