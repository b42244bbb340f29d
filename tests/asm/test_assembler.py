"""Label and map resolution."""

from __future__ import annotations

import pytest

from purebpf.asm import (
    R0,
    R1,
    R2,
    R3,
    Class,
    Instruction,
    JmpOp,
    PseudoSrc,
    assemble,
    call_local,
    exit_,
    ja,
    jmp,
    label_slots,
    ld_func,
    ld_imm64,
    ld_map_fd,
    ld_map_value,
    mov,
    resolve_maps,
)
from purebpf.errors import InvalidInputError


def test_forward_jump_counts_ld_imm64_as_two_slots() -> None:
    prog = assemble([
        jmp(JmpOp.JEQ, R1, 0, "out"),
        ld_imm64(R0, 1 << 40),
        mov(R0, 1),
        exit_().with_label("out"),
    ])
    assert prog[0].off == 3 and prog[0].target is None


def test_backward_jump_and_jmp32() -> None:
    prog = assemble([
        mov(R0, 0).with_label("top"),
        ld_imm64(R1, 7),
        jmp(JmpOp.JLT, R0, R1, "top", bits=32),
        ja("top"),
        exit_(),
    ])
    assert prog[2].opcode == Class.JMP32 | JmpOp.JLT | 0x08
    assert prog[2].off == -4
    assert prog[3].off == -5


def test_gotol_gets_imm() -> None:
    gotol = Instruction(Class.JMP32 | JmpOp.JA, target="end")
    prog = assemble([gotol, mov(R0, 0), exit_().with_label("end")])
    assert (prog[0].imm, prog[0].off) == (1, 0)


def test_local_call_and_ld_func_get_relative_imm() -> None:
    prog = assemble([
        ld_func(R2, "cb"),          # slots 0-1
        call_local("cb"),           # slot 2
        exit_(),                    # slot 3
        mov(R0, 0).with_label("cb"),  # slot 4
        exit_(),
    ])
    assert prog[0].imm == 4 - 1 and prog[0].src == PseudoSrc.FUNC
    assert prog[1].imm == 4 - 3 and prog[1].src == 1
    assert all(insn.target is None for insn in prog)


def test_assemble_does_not_modify_its_input() -> None:
    src = [ja("x"), exit_().with_label("x")]
    out = assemble(src)
    assert src[0].target == "x" and src[0].off == 0
    assert out[0].off == 0 and out[0].target is None
    assert out[1] is not src[1]


def test_label_slots() -> None:
    assert label_slots([ld_imm64(R0, 1).with_label("a"), exit_().with_label("b")]) == {"a": 0, "b": 2}


def test_unknown_label_is_named() -> None:
    with pytest.raises(InvalidInputError, match="unknown label 'nowhere'"):
        assemble([ja("nowhere"), exit_()])


def test_duplicate_label_is_named() -> None:
    with pytest.raises(InvalidInputError, match="label 'x' is defined twice"):
        assemble([mov(R0, 0).with_label("x"), exit_().with_label("x")])


def test_jump_out_of_s16_range_is_a_clear_error() -> None:
    prog = [ja("far")] + [mov(R0, 0)] * 40000 + [exit_().with_label("far")]
    with pytest.raises(InvalidInputError, match=r"jump from slot 0 to label 'far' is 40000 slots.*gotol"):
        assemble(prog)
    # gotol reaches it
    far = assemble([Instruction(Class.JMP32 | JmpOp.JA, target="far")] + prog[1:])
    assert far[0].imm == 40000


def test_target_on_a_non_jump_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="not a jump"):
        assemble([Instruction(0xB7, target="x"), exit_().with_label("x")])


def test_resolve_maps_fills_fd_and_keeps_value_offset() -> None:
    prog = [ld_map_fd(R1, "counts"), ld_map_value(R2, ".data", 24), ld_map_fd(R3, 9), exit_()]
    out = resolve_maps(prog, {"counts": 7, ".data": 8})
    assert out[0].imm == 7 and out[0].map is None
    assert out[1].imm == (24 << 32) | 8 and out[1].map is None
    assert out[2].imm == 9
    assert prog[0].map == "counts"  # input untouched
    assert out[1].encode()[4:8] == (8).to_bytes(4, "little") and out[1].encode()[12:16] == (24).to_bytes(4, "little")


def test_resolve_maps_unknown_name() -> None:
    with pytest.raises(InvalidInputError, match="map 'missing'.*known maps: counts"):
        resolve_maps([ld_map_fd(R1, "missing")], {"counts": 3})


def test_assemble_leaves_maps_alone() -> None:
    (insn,) = assemble([ld_map_fd(R1, "m")])
    assert insn.map == "m" and insn.imm == 0
