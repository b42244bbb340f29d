"""The text assembler: syntax beyond single instructions, and its errors."""

from __future__ import annotations

import pytest

from purebpf.asm import (
    R0,
    R1,
    R2,
    R3,
    JmpOp,
    PseudoCall,
    PseudoSrc,
    add,
    assemble,
    call,
    call_local,
    disassemble,
    encode,
    exit_,
    jmp,
    ld_func,
    ld_map_fd,
    ld_map_value,
    mov,
    parse,
)
from purebpf.errors import InvalidInputError

PROGRAM = """\
; count and return
        r0 = 0                  # a comment after a blank
loop:   r0 += 1
        if r0 < 0x10 goto loop
        r1 = map[counts]
        r2 = map[.data][0]+8
        r3 = subprog[cb]
        call bpf_map_lookup_elem
        call cb
        exit
cb:
        w0 = 0
        exit
"""


def test_program_with_labels_names_and_comments() -> None:
    insns = parse(PROGRAM)
    assert [i.opcode for i in insns] == [i.opcode for i in (
        mov(R0, 0), add(R0, 1), jmp(JmpOp.JLT, R0, 0x10, 0), ld_map_fd(R1, 0), ld_map_value(R2, 0, 8),
        ld_func(R3, "cb"), call("map_lookup_elem"), call_local("cb"), exit_(), mov(R0, 0, bits=32), exit_())]
    assert insns[1].label == "loop" and insns[2].target == "loop"
    assert insns[3].map == "counts" and insns[4].map == ".data" and insns[4].imm == 8 << 32
    assert insns[5].target == "cb" and insns[5].src == PseudoSrc.FUNC
    assert insns[6].imm == 1 and insns[6].src == PseudoCall.HELPER
    assert insns[7].target == "cb" and insns[7].src == PseudoCall.CALL
    assert insns[9].label == "cb"
    prog = assemble(insns)
    assert prog[2].off == -2
    assert prog[5].imm == 12 - 8  # cb at slot 12; ld_func at slots 7-8
    assert prog[7].imm == 12 - 11


def test_symbolic_text_roundtrips() -> None:
    text = disassemble(parse(PROGRAM))
    assert "loop:\n   1: (07) r0 += 1\n   2: (a5) if r0 < 0x10 goto loop\n" in text
    assert "(18) r1 = map[counts]" in text and "(18) r3 = subprog[cb]" in text and "(85) call cb" in text
    assert disassemble(parse(text)) == text


def test_label_on_the_same_line_and_aliases() -> None:
    insns = parse("a:\nb: exit\nif r1 == 0 goto b\n")
    assert insns[0].label == "a" and insns[1].target == "a"
    assert assemble(insns)[1].off == -2


def test_line_numbers_and_opcodes_are_optional() -> None:
    assert encode(parse("   0: (b7) r0 = 0\n(95) exit")) == encode(parse("r0 = 0\nexit"))


def test_immediates_decide_between_mov_and_ld_imm64() -> None:
    mov_, hex_, ll, wide, w32 = parse("r1 = 5\nr1 = 0x5\nr1 = 5 ll\nr1 = 4294967296\nw1 = 0x10")
    assert [i.slots for i in (mov_, hex_, ll, wide, w32)] == [1, 2, 2, 2, 1]
    assert parse("(18) r1 = 5")[0].slots == 2
    assert parse("(b7) r1 = 0x5")[0].slots == 1


def test_hex_and_negative_immediates_fold_to_s32() -> None:
    (a,) = parse("if r1 s< 0xffffffff goto pc+0")
    (b,) = parse("if r1 s< -1 goto pc+0")
    assert a.encode() == b.encode() == jmp(JmpOp.JSLT, R1, -1, 0).encode()


def test_kfunc_and_pc_relative_calls() -> None:
    kfunc, local, xlated = parse("call kernel-function#77 fd_array[3]\ncall pc-4\ncall pc+3#bpf_prog_abc_F")
    assert (kfunc.src, kfunc.imm, kfunc.off) == (PseudoCall.KFUNC_CALL, 77, 3)
    assert (local.src, local.imm) == (PseudoCall.CALL, -4)
    assert (xlated.src, xlated.imm) == (PseudoCall.CALL, 3)


@pytest.mark.parametrize(("text", "message"), [
    ("r1 = ???", "line 1: not an instruction: 'r1 = \\?\\?\\?'"),
    ("r0 = 0\nr11 = 0", "line 2: no register r11"),
    ("w1 += r2", "mixes 32-bit"),
    ("(bf) r0 = 0", r"opcode \(bf\) does not match .* \(b7\)"),
    ("r1 += 4294967296", "does not fit in 32 bits"),
    ("*(u32 *)(r10 -40000) = 1", "offset -40000 does not fit in 16 bits"),
    ("x:\nx: exit", "label 'x' is defined twice"),
    ("exit\nend:", "label 'end' ends the program"),
    ("lock *(u64 *)(r1 +0) -= r2", "no atomic -="),
    ("r2 = atomic_fetch_add((u64 *)(r1 +0), r2)", "atomic does not match size u64"),
    ("r1 = be24 r1", "byte swap width"),
    ("r1 = be16 r2", "in place"),
    ("w1 = (s32)w2", "sign-extend from 32"),
    ("w1 = 0x100000000 ll", "64-bit load needs an r register"),
    ("*(s32 *)(r1 +0) = r2", "bad size s32"),
    ("call bpf_ktime_get_ns#5 fd_array[1]", "only kfunc calls"),
    ("r1 = map[id:5]+8", "map value is written"),
])
def test_errors_name_the_line_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse(text)
