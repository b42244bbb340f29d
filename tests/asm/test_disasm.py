"""Disassembler options: names for maps and calls, the xlated call form, labels."""

from __future__ import annotations

from purebpf.asm import (
    R1,
    Instruction,
    call,
    disassemble,
    encode,
    exit_,
    format_insn,
    ja,
    ld_map_fd,
    ld_map_value,
    mov,
    parse,
)


def test_map_names_replace_ids() -> None:
    text = disassemble([ld_map_fd(R1, 5), ld_map_value(R1, 5, 8), ld_map_fd(R1, 6)], map_names={5: "counts"})
    assert text == "   0: (18) r1 = map[counts]\n   2: (18) r1 = map[counts][0]+8\n   4: (18) r1 = map[id:6]\n"


def test_call_names_name_what_the_table_cannot() -> None:
    def names(insn: Instruction) -> str | None:
        return {1: "bpf_prog_abc_F", 269488: "bpf_ktime_get_ns"}.get(insn.imm)

    helper_by_address = call(269488)
    known_helper = call(1)  # in the helper table: the table wins, as in the kernel
    assert format_insn(helper_by_address, call_names=names) == "(85) call bpf_ktime_get_ns#269488"
    assert format_insn(known_helper, call_names=names) == "(85) call bpf_map_lookup_elem#1"
    assert format_insn(call(77777), call_names=names) == "(85) call unknown#77777"


def test_xlated_local_call_keeps_offset_in_off() -> None:
    xlated = Instruction(0x85, 0, 1, 14, 1)  # off = relative target, imm = subprogram index
    assert format_insn(xlated) == "(85) call pc+1"
    assert format_insn(xlated, xlated=True) == "(85) call pc+14"
    assert format_insn(xlated, xlated=True, call_names=lambda i: "bpf_prog_abc_cb") == \
        "(85) call pc+14#bpf_prog_abc_cb"


def test_raw_bytes_are_decoded() -> None:
    assert disassemble(encode([mov(R1, 2), exit_()])) == "   0: (b7) r1 = 2\n   1: (95) exit\n"


def test_labels_print_on_their_own_line() -> None:
    assert disassemble([ja("end"), exit_().with_label("end")], line_numbers=False) == \
        "(05) goto end\nend:\n(95) exit\n"


def test_undecodable_instructions_print_as_kernel_bugs() -> None:
    assert format_insn(Instruction(0xE7)) == "BUG_alu_e7"
    assert format_insn(Instruction(0xE1)) == "BUG_ldx_e1"
    assert format_insn(Instruction(0xFA)) == "BUG_st_fa"
    assert format_insn(Instruction(0x60)) == "BUG_ld_60"
    assert format_insn(Instruction(0xDB, imm=0x99)) == "BUG_db"


def test_bpftool_function_headers_and_source_lines_parse() -> None:
    dump = (
        "int prog(struct __sk_buff * skb):\n"
        "; return sub(skb->len);\n"
        "   0: (85) call pc+1#bpf_prog_ebc0a1f8d06c4443_sub\n"
        "   1: (95) exit\n"
        "int sub(int x):\n"
        "; static int sub(int x) { return x; }\n"
        "   2: (bf) r0 = r1\n"
        "   3: (95) exit\n"
    )
    insns = parse(dump)
    assert [i.label for i in insns] == ["prog", None, "sub", None]
    assert insns[0].imm == 1 and insns[0].src == 1
