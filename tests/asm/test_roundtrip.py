"""Every instruction kind: bytes, text and back, without a kernel."""

from __future__ import annotations

import pytest
from asm_corpus import EVERY

from purebpf.asm import Class, Instruction, decode, disassemble, encode, format_insn, parse

IDS = [case[0] for case in EVERY]


@pytest.mark.parametrize(("insn", "text"), [case[1:] for case in EVERY], ids=IDS)
def test_format_matches_kernel_notation(insn: Instruction, text: str) -> None:
    assert format_insn(insn) == text


@pytest.mark.parametrize(("insn", "text"), [case[1:] for case in EVERY], ids=IDS)
def test_encode_decode_roundtrip(insn: Instruction, text: str) -> None:
    data = insn.encode()
    assert len(data) == 8 * insn.slots
    (back,) = decode(data)
    assert back.encode() == data
    assert format_insn(back) == text


@pytest.mark.parametrize(("insn", "text"), [case[1:] for case in EVERY], ids=IDS)
def test_parse_reads_what_disassemble_prints(insn: Instruction, text: str) -> None:
    (parsed,) = parse(text)
    assert parsed.encode() == insn.encode()
    # without the opcode the text alone still says which instruction it is
    (bare,) = parse(text.split(") ", 1)[1])
    assert bare.encode() == insn.encode()


def test_every_class_is_covered() -> None:
    classes = {insn.opcode & 7 for _, insn, _ in EVERY}
    assert classes == set(Class)


def test_whole_program_roundtrips_through_bytes_and_text() -> None:
    insns = [insn for _, insn, _ in EVERY]
    data = encode(insns)
    assert encode(decode(data)) == data
    text = disassemble(decode(data))
    assert encode(parse(text)) == data
    assert disassemble(parse(text)) == text
    # slot numbers count a 64-bit load as two
    numbers = [int(line.split(":")[0]) for line in text.splitlines()]
    assert numbers[-1] == len(data) // 8 - 1


def test_opcodes_lines_show_each_instruction_bytes() -> None:
    insns = parse("r1 = 0x100000002\nexit")
    assert disassemble(insns, opcodes=True) == (
        "   0: (18) r1 = 0x100000002\n"
        "       18 01 00 00 02 00 00 00 00 00 00 00 01 00 00 00\n"
        "   2: (95) exit\n"
        "       95 00 00 00 00 00 00 00\n")


def test_disassemble_without_line_numbers() -> None:
    assert disassemble(parse("r0 = 0\nexit"), line_numbers=False) == "(b7) r0 = 0\n(95) exit\n"


def test_decode_rejects_truncated_code() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        decode(b"\x95" + b"\0" * 6)
    with pytest.raises(ValueError, match="truncated"):
        decode(b"\x18" + b"\0" * 7)
