"""The eBPF instruction set: instructions, builders, helpers, assembler, disassembler.

Pure data: nothing here touches the kernel.
"""

from purebpf.asm.assembler import assemble, label_slots, resolve_maps
from purebpf.asm.builders import (
    add,
    alu,
    atomic,
    bswap,
    call,
    call_kfunc,
    call_local,
    endian,
    exit_,
    ja,
    jmp,
    ld_btf_id,
    ld_func,
    ld_imm64,
    ld_map_fd,
    ld_map_value,
    ldx,
    mov,
    movsx,
    neg,
    ret,
    st,
    stx,
)
from purebpf.asm.disasm import CallNames, disassemble, format_insn
from purebpf.asm.helpers import helper_id, helper_name
from purebpf.asm.instruction import Instruction, decode, encode
from purebpf.asm.opcodes import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    AluOp,
    AtomicOp,
    Class,
    JmpOp,
    Mode,
    PseudoCall,
    PseudoSrc,
    Reg,
    Size,
    Source,
)
from purebpf.asm.parser import parse

__all__ = [
    "FP", "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "AluOp", "AtomicOp", "CallNames",
    "Class", "Instruction", "JmpOp", "Mode", "PseudoCall", "PseudoSrc", "Reg", "Size", "Source", "add", "alu",
    "assemble", "atomic", "bswap", "call", "call_kfunc", "call_local", "decode", "disassemble", "encode", "endian",
    "exit_", "format_insn", "helper_id", "helper_name", "ja", "jmp", "label_slots", "ld_btf_id", "ld_func",
    "ld_imm64", "ld_map_fd", "ld_map_value", "ldx", "mov", "movsx", "neg", "parse", "resolve_maps", "ret", "st",
    "stx",
]
