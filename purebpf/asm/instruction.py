"""``Instruction``: one eBPF instruction, encodable to and decodable from bytes.

A 64-bit immediate load is one ``Instruction`` that encodes to two 8-byte slots,
so programs are plain lists where every element is a real instruction.  The
``label`` / ``target`` / ``map`` fields carry symbolic references that the
assembler (or the ELF loader) resolves before loading.
"""

from __future__ import annotations

import struct

from purebpf._record import Record
from purebpf.asm.opcodes import Class, Mode, Size

_SLOT = struct.Struct("<BBhi")
LD_IMM64 = Class.LD | Size.DW | Mode.IMM


class Instruction(Record):
    """``label`` is a symbol defined at this instruction; ``target`` a jump or
    call target label, resolved into off / imm; ``map`` the name of a map this
    LD_IMM64 refers to, resolved into imm.  (A :class:`~purebpf._record.Record`,
    not a dataclass: every program load builds these, see there why.)"""

    __slots__ = _fields = ("opcode", "dst", "src", "off", "imm", "label", "target", "map")

    def __init__(self, opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0,
                 label: str | None = None, target: str | None = None, map: str | None = None) -> None:
        self.opcode = opcode
        self.dst = dst
        self.src = src
        self.off = off
        self.imm = imm
        self.label = label
        self.target = target
        self.map = map

    @property
    def cls(self) -> Class:
        return Class(self.opcode & 0x07)

    @property
    def is_ld_imm64(self) -> bool:
        return self.opcode == LD_IMM64

    @property
    def slots(self) -> int:
        """How many 8-byte slots this instruction takes (2 for LD_IMM64)."""
        return 2 if self.opcode == LD_IMM64 else 1

    def encode(self) -> bytes:
        regs = (self.src & 0xF) << 4 | (self.dst & 0xF)
        if self.opcode == LD_IMM64:
            imm = self.imm & 0xFFFFFFFFFFFFFFFF
            lo, hi = imm & 0xFFFFFFFF, imm >> 32
            return (_SLOT.pack(self.opcode, regs, self.off, _s32(lo))
                    + _SLOT.pack(0, 0, 0, _s32(hi)))
        return _SLOT.pack(self.opcode, regs, self.off, _s32(self.imm))

    def with_label(self, label: str) -> Instruction:
        self.label = label
        return self


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def encode(insns: list[Instruction]) -> bytes:
    """Encode a program; symbolic references must already be resolved."""
    return b"".join(insn.encode() for insn in insns)


def decode(data: bytes) -> list[Instruction]:
    """Decode raw bytecode (e.g. xlated instructions) into instructions."""
    if len(data) % 8:
        raise ValueError(f"bytecode length {len(data)} is not a multiple of 8")
    out: list[Instruction] = []
    i = 0
    while i < len(data):
        op, regs, off, imm = _SLOT.unpack_from(data, i)
        insn = Instruction(op, regs & 0xF, regs >> 4, off, imm)
        if op == LD_IMM64:
            if i + 16 > len(data):
                raise ValueError("truncated 64-bit immediate load at the end of the program")
            hi = _SLOT.unpack_from(data, i + 8)[3]
            insn.imm = (imm & 0xFFFFFFFF) | ((hi & 0xFFFFFFFF) << 32)
            i += 16
        else:
            i += 8
        out.append(insn)
    return out
