"""The text forms of operators and sizes, shared by the disassembler and the parser.

One table per kind of token, both directions, so what :mod:`purebpf.asm.disasm`
prints is exactly what :mod:`purebpf.asm.parser` reads back.  The spellings are
the kernel's (``kernel/bpf/disasm.c``), which is what ``bpftool prog dump
xlated`` and the verifier log print.
"""

from __future__ import annotations

from purebpf.asm.opcodes import AluOp, AtomicOp, JmpOp, Size

ALU_OPS: dict[int, str] = {
    AluOp.ADD: "+=", AluOp.SUB: "-=", AluOp.MUL: "*=", AluOp.DIV: "/=", AluOp.OR: "|=", AluOp.AND: "&=",
    AluOp.LSH: "<<=", AluOp.RSH: ">>=", AluOp.MOD: "%=", AluOp.XOR: "^=", AluOp.MOV: "=", AluOp.ARSH: "s>>=",
}
# DIV and MOD with off == 1 are the signed variants (v4 ISA)
SIGNED_ALU_OPS: dict[int, str] = {AluOp.DIV: "s/=", AluOp.MOD: "s%="}

JMP_OPS: dict[int, str] = {
    JmpOp.JEQ: "==", JmpOp.JGT: ">", JmpOp.JGE: ">=", JmpOp.JSET: "&", JmpOp.JNE: "!=", JmpOp.JSGT: "s>",
    JmpOp.JSGE: "s>=", JmpOp.JLT: "<", JmpOp.JLE: "<=", JmpOp.JSLT: "s<", JmpOp.JSLE: "s<=",
}

ATOMIC_ALU_NAMES: dict[int, str] = {
    AtomicOp.ADD: "add", AtomicOp.AND: "and", AtomicOp.OR: "or", AtomicOp.XOR: "xor",
}

UNSIGNED_SIZES: dict[int, str] = {Size.W: "u32", Size.H: "u16", Size.B: "u8", Size.DW: "u64"}
SIGNED_SIZES: dict[int, str] = {Size.W: "s32", Size.H: "s16", Size.B: "s8"}

# ALU64 MOV X with one of these offsets sign-extends from that many bits
MOVSX_BITS = (8, 16, 32)

# special ALU64 MOV X offsets (kernel internal / arena)
ADDR_SPACE_CAST_OFF = 1
PERCPU_ADDR_OFF = -1


def invert(table: dict[int, str]) -> dict[str, int]:
    return {text: code for code, text in table.items()}
