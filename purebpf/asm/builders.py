"""Functions that build instructions, named after what they do.

Operands that may be a register or an immediate take either: a
:class:`~purebpf.asm.opcodes.Reg` is a register, a plain ``int`` is an
immediate.  Jump targets are a relative offset (``int``) or a label (``str``)
that :func:`purebpf.asm.assemble` resolves.

    prog = [
        mov(R0, 0),
        ldx(4, R2, R1, 0),
        jmp(JmpOp.JEQ, R2, 0, "out"),
        mov(R0, 1),
        exit_().with_label("out"),
    ]
"""

from __future__ import annotations

from purebpf.asm.helpers import helper_id
from purebpf.asm.instruction import LD_IMM64, Instruction
from purebpf.asm.opcodes import AluOp, AtomicOp, Class, JmpOp, Mode, PseudoCall, PseudoSrc, Reg, Size, Source


def _alu_class(bits: int) -> Class:
    if bits not in (32, 64):
        raise ValueError(f"ALU width must be 32 or 64 bits, not {bits}")
    return Class.ALU64 if bits == 64 else Class.ALU


def alu(op: AluOp, dst: Reg, src: Reg | int, *, bits: int = 64) -> Instruction:
    """``dst op= src`` on 64 (ALU64) or 32 (ALU) bits."""
    cls = _alu_class(bits)
    if isinstance(src, Reg):
        return Instruction(cls | op | Source.X, dst, src)
    return Instruction(cls | op | Source.K, dst, 0, 0, src)


def mov(dst: Reg, src: Reg | int, *, bits: int = 64) -> Instruction:
    return alu(AluOp.MOV, dst, src, bits=bits)


def add(dst: Reg, src: Reg | int, *, bits: int = 64) -> Instruction:
    return alu(AluOp.ADD, dst, src, bits=bits)


def neg(dst: Reg, *, bits: int = 64) -> Instruction:
    return Instruction(_alu_class(bits) | AluOp.NEG, dst)


def movsx(dst: Reg, src: Reg, from_bits: int, *, bits: int = 64) -> Instruction:
    """Sign-extending move (``off`` = 8, 16 or 32); needs a v4 ISA kernel (6.6+)."""
    return Instruction(_alu_class(bits) | AluOp.MOV | Source.X, dst, src, from_bits)


def endian(dst: Reg, width: int, *, big: bool) -> Instruction:
    """Byte-swap ``dst``'s low ``width`` bits to big or little endian."""
    return Instruction(Class.ALU | AluOp.END | (Source.X if big else Source.K), dst, 0, 0, width)


def ld_imm64(dst: Reg, imm: int) -> Instruction:
    return Instruction(LD_IMM64, dst, PseudoSrc.NONE, 0, imm)


def ld_map_fd(dst: Reg, map_: int | str) -> Instruction:
    """Load a map pointer: by fd (``int``) or by name for later relocation (``str``)."""
    if isinstance(map_, str):
        return Instruction(LD_IMM64, dst, PseudoSrc.MAP_FD, 0, 0, map=map_)
    return Instruction(LD_IMM64, dst, PseudoSrc.MAP_FD, 0, map_)


def ld_map_value(dst: Reg, map_: int | str, offset: int = 0) -> Instruction:
    """Load a pointer ``offset`` bytes into an array map's value (global data)."""
    imm = (offset << 32)
    if isinstance(map_, str):
        return Instruction(LD_IMM64, dst, PseudoSrc.MAP_VALUE, 0, imm, map=map_)
    return Instruction(LD_IMM64, dst, PseudoSrc.MAP_VALUE, 0, imm | (map_ & 0xFFFFFFFF))


def ld_btf_id(dst: Reg, btf_id: int) -> Instruction:
    """Load the address of a kernel variable named by its BTF id (ksym)."""
    return Instruction(LD_IMM64, dst, PseudoSrc.BTF_ID, 0, btf_id)


def ld_func(dst: Reg, label: str) -> Instruction:
    """Load the address of a subprogram (for bpf_loop, callbacks)."""
    return Instruction(LD_IMM64, dst, PseudoSrc.FUNC, 0, 0, target=label)


def ldx(size: int, dst: Reg, src: Reg, off: int = 0, *, signed: bool = False) -> Instruction:
    """``dst = *(uN *)(src + off)``; ``signed`` sign-extends (v4 ISA)."""
    mode = Mode.MEMSX if signed else Mode.MEM
    return Instruction(Class.LDX | Size.of(size) | mode, dst, src, off)


def stx(size: int, dst: Reg, off: int, src: Reg) -> Instruction:
    """``*(uN *)(dst + off) = src``."""
    return Instruction(Class.STX | Size.of(size) | Mode.MEM, dst, src, off)


def st(size: int, dst: Reg, off: int, imm: int) -> Instruction:
    """``*(uN *)(dst + off) = imm``."""
    return Instruction(Class.ST | Size.of(size) | Mode.MEM, dst, 0, off, imm)


def atomic(op: AtomicOp | int, size: int, dst: Reg, off: int, src: Reg) -> Instruction:
    """Atomic ``*(uN *)(dst + off) op= src`` (``size`` 4 or 8); ``op`` may include FETCH."""
    if size not in (4, 8):
        raise ValueError(f"atomic operations are 4 or 8 bytes wide, not {size}")
    return Instruction(Class.STX | Size.of(size) | Mode.ATOMIC, dst, src, off, int(op))


def jmp(op: JmpOp, dst: Reg, src: Reg | int, target: int | str, *, bits: int = 64) -> Instruction:
    """Conditional jump ``if dst op src goto target`` (JMP, or JMP32 with ``bits=32``)."""
    cls = Class.JMP if bits == 64 else Class.JMP32
    label = target if isinstance(target, str) else None
    off = 0 if label else target
    if isinstance(src, Reg):
        return Instruction(cls | op | Source.X, dst, src, off, 0, target=label)
    return Instruction(cls | op | Source.K, dst, 0, off, src, target=label)


def ja(target: int | str) -> Instruction:
    """Unconditional jump."""
    if isinstance(target, str):
        return Instruction(Class.JMP | JmpOp.JA, target=target)
    return Instruction(Class.JMP | JmpOp.JA, off=target)


def call(helper: str | int) -> Instruction:
    """Call a helper by name (``"map_lookup_elem"`` or ``"bpf_map_lookup_elem"``) or id."""
    hid = helper if isinstance(helper, int) else helper_id(helper)
    return Instruction(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, hid)


def call_local(label: str) -> Instruction:
    """bpf-to-bpf call of a subprogram starting at ``label``."""
    return Instruction(Class.JMP | JmpOp.CALL, 0, PseudoCall.CALL, 0, 0, target=label)


def call_kfunc(btf_id: int, btf_obj_fd_index: int = 0) -> Instruction:
    return Instruction(Class.JMP | JmpOp.CALL, 0, PseudoCall.KFUNC_CALL, btf_obj_fd_index, btf_id)


def exit_() -> Instruction:
    return Instruction(Class.JMP | JmpOp.EXIT)


def ret(value: int) -> list[Instruction]:
    """``return value``: two instructions."""
    return [mov(Reg.R0, value), exit_()]


def bswap(dst: Reg, width: int) -> Instruction:
    """Unconditional byte swap of ``dst``'s low ``width`` bits (ALU64 END, v4 ISA, 6.6+)."""
    if width not in (16, 32, 64):
        raise ValueError(f"byte swap width must be 16, 32 or 64 bits, not {width}")
    return Instruction(Class.ALU64 | AluOp.END, dst, 0, 0, width)
