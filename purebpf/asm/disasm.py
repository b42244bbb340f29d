"""Instructions to text, in the kernel's own notation.

The text is what ``bpftool prog dump xlated`` and the verifier log print
(``kernel/bpf/disasm.c``), so a purebpf dump can be diffed against either, and
:func:`purebpf.asm.parse` reads it back.  Symbolic references that the
assembler has not resolved yet print as names (``goto out``, ``call sub``,
``r1 = map[counts]``, ``r2 = subprog[cb]``), and labels as ``name:`` lines.
Two loads the kernel never shows in a dump get notations of ours so that they
survive a round trip: ``r1 = btf_id[42]`` and ``r1 = map[idx:3]`` (bpftool
prints their raw immediates).  v4 ISA forms (``(s8)``, ``s/=``, ``bswap``,
``gotol``, ``may_goto``, load-acquire) follow kernels 6.6-6.15, newer than the
disassembler in some bpftool builds.

    >>> print(disassemble([mov(R0, 0), exit_()]), end="")
       0: (b7) r0 = 0
       1: (95) exit
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from purebpf.asm.helpers import HELPERS
from purebpf.asm.instruction import Instruction, decode
from purebpf.asm.opcodes import AluOp, AtomicOp, Class, JmpOp, Mode, PseudoCall, PseudoSrc, Size, Source
from purebpf.asm.syntax import (
    ADDR_SPACE_CAST_OFF,
    ALU_OPS,
    ATOMIC_ALU_NAMES,
    JMP_OPS,
    MOVSX_BITS,
    PERCPU_ADDR_OFF,
    SIGNED_ALU_OPS,
    SIGNED_SIZES,
    UNSIGNED_SIZES,
)

CallNames = Callable[[Instruction], str | None]
"""Names a call the instruction itself cannot name: a helper or kfunc whose
``imm`` is a kernel address offset (xlated code), or a subprogram's symbol."""

_FETCH_OPS = {op | AtomicOp.FETCH: name for op, name in ATOMIC_ALU_NAMES.items()}
_NOSPEC = 0xC0  # BPF_ST | 0xc0: speculation barrier the verifier inserts (kernel internal)


def disassemble(insns: Iterable[Instruction] | bytes, *, map_names: Mapping[int, str] | None = None,
                line_numbers: bool = True, opcodes: bool = False, xlated: bool = False,
                call_names: CallNames | None = None) -> str:
    """The program (instructions, or raw bytecode) as text, one instruction a line.

    ``line_numbers`` prefixes each line with its slot index (``   4: ``) as
    bpftool does; a 64-bit load takes two slots.  ``opcodes`` adds a line with
    each instruction's bytes (``bpftool prog dump xlated ... opcodes``).
    ``map_names`` maps a map id (or fd) in an ``ld_imm64`` to a name, printed
    ``map[name]``.  Set ``xlated`` for code read back from the kernel, where a
    bpf-to-bpf call keeps its relative offset in ``off`` (``imm`` then is the
    subprogram's index); ``call_names`` names calls there, as bpftool does from
    kallsyms.  Text printed with ``call_names`` is for reading: a kfunc named
    that way parses back as a helper call.
    """
    if isinstance(insns, (bytes, bytearray)):
        insns = decode(bytes(insns))
    lines: list[str] = []
    pc = 0
    for insn in insns:
        if insn.label:
            lines.append(f"{insn.label}:")
        text = format_insn(insn, map_names=map_names, xlated=xlated, call_names=call_names)
        lines.append(f"{pc:4d}: {text}" if line_numbers else text)
        if opcodes:
            lines.append("       " + insn.encode().hex(" "))
        pc += insn.slots
    return "".join(line + "\n" for line in lines)


def format_insn(insn: Instruction, *, map_names: Mapping[int, str] | None = None, xlated: bool = False,
                call_names: CallNames | None = None) -> str:
    """One instruction as ``(op) text``; an undecodable one as the kernel's ``BUG_...``."""
    if type(insn.dst) is not int or type(insn.src) is not int:  # Reg prints as "r1": keep plain numbers
        insn = insn.replace(dst=int(insn.dst), src=int(insn.src))
    cls = insn.opcode & 0x07
    if cls in (Class.ALU, Class.ALU64):
        body = _alu(insn)
    elif cls == Class.STX:
        body = _stx(insn)
    elif cls == Class.ST:
        body = _st(insn)
    elif cls == Class.LDX:
        body = _ldx(insn)
    elif cls == Class.LD:
        body = _ld(insn, map_names)
    else:
        body = _jmp(insn, xlated, call_names)
    return body if body.startswith("BUG_") else f"({insn.opcode:02x}) {body}"


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _mem(reg: int, off: int) -> str:
    return f"(r{reg} {off:+d})"


def _size(insn: Instruction, table: Mapping[int, str] = UNSIGNED_SIZES) -> str:
    return table.get(insn.opcode & 0x18, "(null)")


def _alu(insn: Instruction) -> str:
    op, is64 = insn.opcode & 0xF0, insn.opcode & 0x07 == Class.ALU64
    w = "r" if is64 else "w"
    d, s = insn.dst, insn.src
    if op == AluOp.END:
        if is64:
            return f"r{d} = bswap{insn.imm} r{d}"
        return f"r{d} = {'be' if insn.opcode & Source.X else 'le'}{insn.imm} r{d}"
    if op == AluOp.NEG:
        return f"{w}{d} = -{w}{d}"
    x = insn.opcode & Source.X
    if is64 and op == AluOp.MOV and x and insn.off == ADDR_SPACE_CAST_OFF:
        imm = insn.imm & 0xFFFFFFFF
        return f"r{d} = addr_space_cast(r{s}, {imm >> 16}, {imm & 0xFFFF})"
    if is64 and op == AluOp.MOV and x and insn.off == PERCPU_ADDR_OFF:
        return f"r{d} = &(void __percpu *)(r{s})"
    if op not in ALU_OPS:
        return f"BUG_alu_{insn.opcode:02x}"
    sign = insn.off == 1 and op in SIGNED_ALU_OPS
    text = SIGNED_ALU_OPS[op] if sign else ALU_OPS[op]
    if x:
        cast = f"(s{insn.off})" if op == AluOp.MOV and insn.off in MOVSX_BITS else ""
        return f"{w}{d} {text} {cast}{w}{s}"
    return f"{w}{d} {text} {_s32(insn.imm)}"


def _stx(insn: Instruction) -> str:
    mode, size, d, s, off = insn.opcode & 0xE0, _size(insn), insn.dst, insn.src, insn.off
    if mode == Mode.MEM:
        return f"*({size} *){_mem(d, off)} = r{s}"
    if mode != Mode.ATOMIC:
        return f"BUG_{insn.opcode:02x}"
    imm, bits = insn.imm, "64" if insn.opcode & 0x18 == Size.DW else ""
    if imm in ATOMIC_ALU_NAMES:
        return f"lock *({size} *){_mem(d, off)} {ALU_OPS[imm]} r{s}"
    if imm in _FETCH_OPS:
        return f"r{s} = atomic{bits}_fetch_{_FETCH_OPS[imm]}(({size} *){_mem(d, off)}, r{s})"
    if imm == AtomicOp.CMPXCHG:
        return f"r0 = atomic{bits}_cmpxchg(({size} *){_mem(d, off)}, r0, r{s})"
    if imm == AtomicOp.XCHG:
        return f"r{s} = atomic{bits}_xchg(({size} *){_mem(d, off)}, r{s})"
    if imm == AtomicOp.LOAD_ACQ:
        return f"r{d} = load_acquire(({size} *){_mem(s, off)})"
    if imm == AtomicOp.STORE_REL:
        return f"store_release(({size} *){_mem(d, off)}, r{s})"
    return f"BUG_{insn.opcode:02x}"


def _st(insn: Instruction) -> str:
    mode = insn.opcode & 0xE0
    if mode == Mode.MEM:
        return f"*({_size(insn)} *){_mem(insn.dst, insn.off)} = {_s32(insn.imm)}"
    if mode == _NOSPEC:
        return "nospec"
    return f"BUG_st_{insn.opcode:02x}"


def _ldx(insn: Instruction) -> str:
    mode = insn.opcode & 0xE0
    if mode not in (Mode.MEM, Mode.MEMSX):
        return f"BUG_ldx_{insn.opcode:02x}"
    size = _size(insn, UNSIGNED_SIZES if mode == Mode.MEM else SIGNED_SIZES)
    return f"r{insn.dst} = *({size} *){_mem(insn.src, insn.off)}"


def _ld(insn: Instruction, map_names: Mapping[int, str] | None) -> str:
    mode = insn.opcode & 0xE0
    if mode == Mode.ABS:
        return f"r0 = *({_size(insn)} *)skb[{_s32(insn.imm)}]"
    if mode == Mode.IND:
        return f"r0 = *({_size(insn)} *)skb[r{insn.src} + {_s32(insn.imm)}]"
    if mode == Mode.IMM and insn.opcode & 0x18 == Size.DW:
        return f"r{insn.dst} = {_imm64(insn, map_names)}"
    return f"BUG_ld_{insn.opcode:02x}"


def _imm64(insn: Instruction, map_names: Mapping[int, str] | None) -> str:
    imm = insn.imm & 0xFFFFFFFFFFFFFFFF
    lo, hi = imm & 0xFFFFFFFF, imm >> 32
    src = insn.src
    if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE):
        name = insn.map or (map_names or {}).get(lo)
        ref = f"map[{name}]" if name else f"map[id:{lo}]"
        return ref if src == PseudoSrc.MAP_FD else f"{ref}[0]+{hi}"
    if src == PseudoSrc.MAP_IDX:
        return f"map[idx:{lo}]"
    if src == PseudoSrc.MAP_IDX_VALUE:
        return f"map[idx:{lo}]+{hi}"
    if src == PseudoSrc.FUNC:
        return f"subprog[{insn.target}]" if insn.target else f"subprog[{_s32(lo):+d}]"
    if src == PseudoSrc.BTF_ID:
        return f"btf_id[{lo}]"
    return f"0x{imm:x}"


def _target(insn: Instruction, rel: int) -> str:
    return insn.target if insn.target else f"pc{rel:+d}"


def _jmp(insn: Instruction, xlated: bool, call_names: CallNames | None) -> str:
    op, is32 = insn.opcode & 0xF0, insn.opcode & 0x07 == Class.JMP32
    if op == JmpOp.CALL and not is32:
        return _call(insn, xlated, call_names)
    if op == JmpOp.JA:
        return f"gotol {_target(insn, _s32(insn.imm))}" if is32 else f"goto {_target(insn, insn.off)}"
    if op == JmpOp.JCOND and not is32 and insn.src == 0:
        return f"may_goto {_target(insn, insn.off)}"
    if op == JmpOp.EXIT and not is32:
        return "exit"
    if op not in JMP_OPS:
        return f"BUG_jmp_{insn.opcode:02x}"
    w = "w" if is32 else "r"
    rhs = f"{w}{insn.src}" if insn.opcode & Source.X else f"0x{insn.imm & 0xFFFFFFFF:x}"
    return f"if {w}{insn.dst} {JMP_OPS[op]} {rhs} goto {_target(insn, insn.off)}"


def _call(insn: Instruction, xlated: bool, call_names: CallNames | None) -> str:
    if insn.src == PseudoCall.CALL:
        if insn.target:
            return f"call {insn.target}"
        name = call_names(insn) if call_names else None
        rel = insn.off if xlated else _s32(insn.imm)
        return f"call pc{rel:+d}" + (f"#{name}" if name else "")
    imm = _s32(insn.imm)
    if insn.src == PseudoCall.HELPER and 0 <= imm < len(HELPERS):
        name: str | None = f"bpf_{HELPERS[imm]}"
    else:
        name = call_names(insn) if call_names else None
    if name is None:
        name = "kernel-function" if insn.src == PseudoCall.KFUNC_CALL else "unknown"
    module = f" fd_array[{insn.off}]" if insn.src == PseudoCall.KFUNC_CALL and insn.off else ""
    return f"call {name}#{imm}{module}"
