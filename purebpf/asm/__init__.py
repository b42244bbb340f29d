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

# The text parser and the disassembler are imported on first use: programs
# built with the builders (every ready tool) never need them.
_LAZY = {"parse": "purebpf.asm.parser", "CallNames": "purebpf.asm.disasm", "disassemble": "purebpf.asm.disasm",
         "format_insn": "purebpf.asm.disasm"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'purebpf.asm' has no attribute {name!r}")
    from purebpf._lazy import import_module

    loaded = import_module(module)
    globals().update({n: getattr(loaded, n) for n, m in _LAZY.items() if m == module})
    return globals()[name]


__all__ = [
    "FP", "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "AluOp", "AtomicOp", "CallNames",
    "Class", "Instruction", "JmpOp", "Mode", "PseudoCall", "PseudoSrc", "Reg", "Size", "Source", "add", "alu",
    "assemble", "atomic", "bswap", "call", "call_kfunc", "call_local", "decode", "disassemble", "encode", "endian",
    "exit_", "format_insn", "helper_id", "helper_name", "ja", "jmp", "label_slots", "ld_btf_id", "ld_func",
    "ld_imm64", "ld_map_fd", "ld_map_value", "ldx", "mov", "movsx", "neg", "parse", "resolve_maps", "ret", "st",
    "stx",
]
