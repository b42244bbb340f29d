"""Text to instructions: reads what :func:`purebpf.asm.disassemble` prints.

The notation is the kernel's (as in ``bpftool prog dump xlated``), plus:

* labels: ``name:`` on a line of its own or before an instruction; a jump,
  call or ``subprog[...]`` may name a label instead of ``pc+N``;
* comments: ``;`` anywhere, ``#`` at the start of a line or after a blank
  (``call bpf_map_lookup_elem#1`` keeps its ``#``);
* bpftool's line numbers (``  12:``) and opcodes (``(bf)``) are optional; an
  opcode, when given, must match the instruction; bpftool's function headers
  (``int prog(struct __sk_buff * skb):``) read as labels, and its source lines
  (``; ...``) as comments;
* ``call NAME`` calls the helper NAME if there is one, else the subprogram at
  label NAME (so a subprogram label must not be a helper's name);
* ``rN = <number>`` is a 32-bit move when written in decimal and fitting an
  s32, and a 64-bit load (``ld_imm64``) when written in hex, suffixed ``ll``,
  too wide, or given opcode ``(18)``, which is how the disassembler prints them.

``parse`` leaves labels unresolved: pass its result to :func:`assemble`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from purebpf.asm.helpers import helper_id
from purebpf.asm.instruction import LD_IMM64, Instruction
from purebpf.asm.opcodes import TO_BE, TO_LE, AluOp, AtomicOp, Class, JmpOp, Mode, PseudoCall, PseudoSrc, Size, Source
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
    invert,
)
from purebpf.errors import BPFError, InvalidInputError, NotFoundError

_UNUM = r"(?:0[xX][0-9a-fA-F]+|\d+)"
_NUM = rf"[+-]?{_UNUM}"
_REG = r"[rw]\d+"
_NAME = r"[A-Za-z_.$][\w.$]*"
_TARGET = rf"pc[+-]\d+|{_NAME}"
_SIZE = r"[us](?:8|16|32|64)"
_MEM = rf"\(\s*r(\d+)\s*(?:([+-])\s*({_UNUM}))?\s*\)"  # (r1 +8), (r1 -4), (r1)

_ALU_BY_TEXT = invert(ALU_OPS)
_SIGNED_ALU_BY_TEXT = invert(SIGNED_ALU_OPS)
_JMP_BY_TEXT = invert(JMP_OPS)
_ATOMIC_BY_NAME = invert(ATOMIC_ALU_NAMES)
_SIZES = {**{t: (s, Mode.MEM) for s, t in UNSIGNED_SIZES.items()},
          **{t: (s, Mode.MEMSX) for s, t in SIGNED_SIZES.items()}}

_LINE_NO = re.compile(r"\s*\d+:\s*")
_LABEL = re.compile(rf"\s*({_NAME}):(?:\s+|$)")
_FUNC_HEADER = re.compile(r"[A-Za-z_][\w *]*?[ *]([A-Za-z_]\w*)\(.*\):\s*")  # bpftool: "int prog(void * ctx):"
_OPCODE = re.compile(r"\(([0-9a-fA-F]{2})\)\s*")
_COMMENT = re.compile(r";|(?:^|(?<=\s))#")


class _Syntax(Exception):
    """Raised inside the parser with a message; ``parse`` adds the line."""


@dataclass
class _Line:
    text: str
    opcode: int | None


def parse(text: str) -> list[Instruction]:
    """Instructions from assembler text; labels stay symbolic (see :func:`assemble`)."""
    insns: list[Instruction] = []
    aliases: dict[str, str] = {}   # extra labels on one instruction -> the one it keeps
    defined: dict[str, int] = {}
    pending: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.split(raw, maxsplit=1)[0]
        if m := _LINE_NO.match(line):
            line = line[m.end():]
        elif m := _FUNC_HEADER.fullmatch(line):
            line = m.group(1) + ":"
        while m := _LABEL.match(line):
            name = m.group(1)
            if name in defined or name in pending:
                raise InvalidInputError(f"line {lineno}: label '{name}' is defined twice; rename one")
            pending.append(name)
            line = line[m.end():]
        line = line.strip()
        if not line:
            continue
        opcode = None
        if m := _OPCODE.match(line):
            opcode, line = int(m.group(1), 16), line[m.end():].strip()
        try:
            insn = _parse_insn(_Line(line, opcode))
        except (_Syntax, BPFError) as exc:
            raise InvalidInputError(f"line {lineno}: {exc}: '{raw.strip()}'") from None
        if opcode is not None and opcode != insn.opcode:
            raise InvalidInputError(f"line {lineno}: opcode ({opcode:02x}) does not match the instruction, "
                                    f"which encodes as ({insn.opcode:02x}): '{raw.strip()}'")
        if pending:
            insn.label = pending[0]
            for name in pending:
                defined[name] = lineno
                aliases[name] = pending[0]
            pending = []
        insns.append(insn)
    if pending:
        raise InvalidInputError(f"label '{pending[0]}' ends the program: a label must mark an instruction")
    for insn in insns:
        if insn.target is not None:
            insn.target = aliases.get(insn.target, insn.target)
    return insns


# ---- operands --------------------------------------------------------------------

def _int(text: str) -> int:
    return int(text, 16 if text.lstrip("+-")[:2] in ("0x", "0X") else 10)


def _imm32(text: str) -> int:
    value = _int(text)
    if not -(1 << 31) <= value < (1 << 32):
        raise _Syntax(f"immediate {text} does not fit in 32 bits")
    return value - (1 << 32) if value >= (1 << 31) else value


def _off16(sign: str | None, text: str | None) -> int:
    return _fit16(0 if text is None else _int(text) * (-1 if sign == "-" else 1))


def _fit16(value: int) -> int:
    if not -(1 << 15) <= value < (1 << 15):
        raise _Syntax(f"offset {value} does not fit in 16 bits")
    return value


def _reg(text: str) -> tuple[int, bool]:
    """Register number and whether it is a 32-bit (``wN``) name."""
    num = int(text[1:])
    if num > 10:
        raise _Syntax(f"no register {text} (r0..r10)")
    return num, text[0] == "w"


def _same_width(*regs: str) -> bool:
    widths = {_reg(r)[1] for r in regs}
    if len(widths) > 1:
        raise _Syntax("mixes 32-bit (w) and 64-bit (r) registers")
    return widths.pop()


def _size(text: str, allow_signed: bool = False) -> tuple[int, int]:
    if text not in _SIZES or (_SIZES[text][1] == Mode.MEMSX and not allow_signed):
        raise _Syntax(f"bad size {text}")
    return _SIZES[text]


def _target(text: str) -> tuple[int, str | None]:
    """A jump target: relative ``pc+N`` as an offset, else a label."""
    if text.startswith(("pc+", "pc-")):
        return int(text[2:]), None
    return 0, text


# ---- instruction forms ---------------------------------------------------------------

_Build = Callable[[re.Match[str], _Line], Instruction]
_FORMS: list[tuple[re.Pattern[str], _Build]] = []


def _form(pattern: str) -> Callable[[_Build], _Build]:
    """Register a builder for text matching ``pattern`` (a blank in it matches any blanks)."""
    def register(fn: _Build) -> _Build:
        _FORMS.append((re.compile(pattern.replace(" ", r"\s*") + r"\Z"), fn))
        return fn
    return register


def _parse_insn(line: _Line) -> Instruction:
    for pattern, build in _FORMS:
        if m := pattern.match(line.text):
            return build(m, line)
    raise _Syntax("not an instruction")


@_form(r"exit")
def _exit(m: re.Match[str], line: _Line) -> Instruction:
    return Instruction(Class.JMP | JmpOp.EXIT)


@_form(r"nospec")
def _nospec(m: re.Match[str], line: _Line) -> Instruction:
    return Instruction(Class.ST | 0xC0)


@_form(rf"(goto|gotol|may_goto)\s+({_TARGET})")
def _goto(m: re.Match[str], line: _Line) -> Instruction:
    rel, label = _target(m.group(2))
    if m.group(1) == "gotol":
        return Instruction(Class.JMP32 | JmpOp.JA, imm=rel, target=label)
    op = JmpOp.JA if m.group(1) == "goto" else JmpOp.JCOND
    return Instruction(Class.JMP | op, off=_fit16(rel), target=label)


@_form(r"call\s+pc([+-]\d+)(?:#\S*)?")
def _call_pc(m: re.Match[str], line: _Line) -> Instruction:
    return Instruction(Class.JMP | JmpOp.CALL, src=PseudoCall.CALL, imm=_imm32(m.group(1)))


@_form(rf"call\s+(\S+)#({_NUM})(?:\s+fd_array\[(\d+)\])?")
def _call_id(m: re.Match[str], line: _Line) -> Instruction:
    if m.group(1) == "kernel-function":
        return Instruction(Class.JMP | JmpOp.CALL, src=PseudoCall.KFUNC_CALL, off=_fit16(int(m.group(3) or 0)),
                           imm=_imm32(m.group(2)))
    if m.group(3):
        raise _Syntax("only kfunc calls (kernel-function#ID) take fd_array[N]")
    return Instruction(Class.JMP | JmpOp.CALL, src=PseudoCall.HELPER, imm=_imm32(m.group(2)))


@_form(rf"call\s+({_NAME})")
def _call_name(m: re.Match[str], line: _Line) -> Instruction:
    """A helper by name, else a bpf-to-bpf call of a label."""
    try:
        return Instruction(Class.JMP | JmpOp.CALL, src=PseudoCall.HELPER, imm=helper_id(m.group(1)))
    except NotFoundError:
        return Instruction(Class.JMP | JmpOp.CALL, src=PseudoCall.CALL, target=m.group(1))


@_form(rf"if\s+({_REG}) (\S+) ({_REG}|{_NUM})\s+goto\s+({_TARGET})")
def _cond(m: re.Match[str], line: _Line) -> Instruction:
    dst, rhs = m.group(1), m.group(3)
    if m.group(2) not in _JMP_BY_TEXT:
        raise _Syntax(f"unknown comparison {m.group(2)}")
    is_reg = rhs[0] in "rw"
    is32 = _same_width(dst, rhs) if is_reg else _reg(dst)[1]
    cls = Class.JMP32 if is32 else Class.JMP
    rel, label = _target(m.group(4))
    op = cls | _JMP_BY_TEXT[m.group(2)] | (Source.X if is_reg else Source.K)
    return Instruction(op, _reg(dst)[0], _reg(rhs)[0] if is_reg else 0, _fit16(rel),
                       0 if is_reg else _imm32(rhs), target=label)


def _atomic(size: str, dst: re.Match[str], base: int, src: str, imm: int, bits64: str | None = None) -> Instruction:
    sz, _ = _size(size)
    if bits64 is not None and (bits64 == "64") != (sz == Size.DW):
        raise _Syntax(f"atomic{bits64} does not match size {size}")
    return Instruction(Class.STX | sz | Mode.ATOMIC, int(dst.group(base)), _reg(src)[0],
                       _off16(dst.group(base + 1), dst.group(base + 2)), imm)


@_form(rf"lock\s+\*\(({_SIZE}) \*\){_MEM} (\S+) (r\d+)")
def _lock(m: re.Match[str], line: _Line) -> Instruction:
    op = _ALU_BY_TEXT.get(m.group(5))
    if op not in ATOMIC_ALU_NAMES:
        raise _Syntax(f"no atomic {m.group(5)} (+=, |=, &=, ^=)")
    return _atomic(m.group(1), m, 2, m.group(6), op)


@_form(rf"(r\d+) = atomic(64)?_fetch_(\w+)\(\(({_SIZE}) \*\){_MEM}, (r\d+)\)")
def _fetch(m: re.Match[str], line: _Line) -> Instruction:
    if m.group(3) not in _ATOMIC_BY_NAME:
        raise _Syntax(f"no atomic fetch_{m.group(3)}")
    if m.group(1) != m.group(8):
        raise _Syntax("an atomic fetch returns into its source register")
    return _atomic(m.group(4), m, 5, m.group(8), _ATOMIC_BY_NAME[m.group(3)] | AtomicOp.FETCH, m.group(2) or "")


@_form(rf"(r\d+) = atomic(64)?_xchg\(\(({_SIZE}) \*\){_MEM}, (r\d+)\)")
def _xchg(m: re.Match[str], line: _Line) -> Instruction:
    if m.group(1) != m.group(7):
        raise _Syntax("xchg returns into its source register")
    return _atomic(m.group(3), m, 4, m.group(7), AtomicOp.XCHG, m.group(2) or "")


@_form(rf"r0 = atomic(64)?_cmpxchg\(\(({_SIZE}) \*\){_MEM}, r0, (r\d+)\)")
def _cmpxchg(m: re.Match[str], line: _Line) -> Instruction:
    return _atomic(m.group(2), m, 3, m.group(6), AtomicOp.CMPXCHG, m.group(1) or "")


@_form(rf"(r\d+) = load_acquire\(\(({_SIZE}) \*\){_MEM}\)")
def _load_acquire(m: re.Match[str], line: _Line) -> Instruction:
    sz, _ = _size(m.group(2))
    return Instruction(Class.STX | sz | Mode.ATOMIC, _reg(m.group(1))[0], int(m.group(3)),
                       _off16(m.group(4), m.group(5)), AtomicOp.LOAD_ACQ)


@_form(rf"store_release\(\(({_SIZE}) \*\){_MEM}, (r\d+)\)")
def _store_release(m: re.Match[str], line: _Line) -> Instruction:
    return _atomic(m.group(1), m, 2, m.group(5), AtomicOp.STORE_REL)


@_form(rf"\*\(({_SIZE}) \*\){_MEM} = (r\d+|{_NUM})")
def _store(m: re.Match[str], line: _Line) -> Instruction:
    sz, _ = _size(m.group(1))
    dst, off, rhs = int(m.group(2)), _off16(m.group(3), m.group(4)), m.group(5)
    if rhs[0] == "r":
        return Instruction(Class.STX | sz | Mode.MEM, dst, _reg(rhs)[0], off)
    return Instruction(Class.ST | sz | Mode.MEM, dst, 0, off, _imm32(rhs))


@_form(rf"(r\d+) = \*\(({_SIZE}) \*\){_MEM}")
def _load(m: re.Match[str], line: _Line) -> Instruction:
    sz, mode = _size(m.group(2), allow_signed=True)
    return Instruction(Class.LDX | sz | mode, _reg(m.group(1))[0], int(m.group(3)), _off16(m.group(4), m.group(5)))


@_form(rf"r0 = \*\(({_SIZE}) \*\)skb\[ (?:r(\d+) \+ )?({_NUM}) \]")
def _load_skb(m: re.Match[str], line: _Line) -> Instruction:
    sz, _ = _size(m.group(1))
    if m.group(2) is None:
        return Instruction(Class.LD | sz | Mode.ABS, imm=_imm32(m.group(3)))
    return Instruction(Class.LD | sz | Mode.IND, src=_reg("r" + m.group(2))[0], imm=_imm32(m.group(3)))


@_form(r"([rw]\d+) = (be|le|bswap)(\d+) ([rw]\d+)")
def _endian(m: re.Match[str], line: _Line) -> Instruction:
    dst = _reg(m.group(1))[0]
    if dst != _reg(m.group(4))[0]:
        raise _Syntax("a byte swap works in place: both registers must be the same")
    width = int(m.group(3))
    if width not in (16, 32, 64):
        raise _Syntax(f"byte swap width must be 16, 32 or 64, not {width}")
    if m.group(2) == "bswap":
        return Instruction(Class.ALU64 | AluOp.END | TO_LE, dst, imm=width)
    return Instruction(Class.ALU | AluOp.END | (TO_BE if m.group(2) == "be" else TO_LE), dst, imm=width)


@_form(rf"({_REG}) = -({_REG})")
def _neg(m: re.Match[str], line: _Line) -> Instruction:
    is32 = _same_width(m.group(1), m.group(2))
    if m.group(1)[1:] != m.group(2)[1:]:
        raise _Syntax("negation works in place: both registers must be the same")
    return Instruction((Class.ALU if is32 else Class.ALU64) | AluOp.NEG, _reg(m.group(1))[0])


@_form(rf"({_REG}) = \(s(\d+)\)({_REG})")
def _movsx(m: re.Match[str], line: _Line) -> Instruction:
    is32 = _same_width(m.group(1), m.group(3))
    bits = int(m.group(2))
    if bits not in MOVSX_BITS or (is32 and bits == 32):
        raise _Syntax(f"cannot sign-extend from {bits} bits here")
    return Instruction((Class.ALU if is32 else Class.ALU64) | AluOp.MOV | Source.X, _reg(m.group(1))[0],
                       _reg(m.group(3))[0], bits)


@_form(rf"(r\d+) = addr_space_cast\((r\d+), ({_NUM}), ({_NUM})\)")
def _addr_space_cast(m: re.Match[str], line: _Line) -> Instruction:
    imm = (_int(m.group(3)) & 0xFFFF) << 16 | (_int(m.group(4)) & 0xFFFF)
    return Instruction(Class.ALU64 | AluOp.MOV | Source.X, _reg(m.group(1))[0], _reg(m.group(2))[0],
                       ADDR_SPACE_CAST_OFF, _imm32(str(imm)))


@_form(r"(r\d+) = &\(void __percpu \*\)\((r\d+)\)")
def _percpu(m: re.Match[str], line: _Line) -> Instruction:
    return Instruction(Class.ALU64 | AluOp.MOV | Source.X, _reg(m.group(1))[0], _reg(m.group(2))[0],
                       PERCPU_ADDR_OFF)


@_form(rf"(r\d+) = map\[(?:(id|fd|idx):(\d+)|({_NAME}))\](\[0\])?(?:\+(\d+))?")
def _map(m: re.Match[str], line: _Line) -> Instruction:
    dst, kind, num, name, value, off = _reg(m.group(1))[0], m.group(2), m.group(3), m.group(4), m.group(5), m.group(6)
    if kind == "idx":
        if value:
            raise _Syntax("map[idx:N] values are written map[idx:N]+OFF")
        src = PseudoSrc.MAP_IDX_VALUE if off is not None else PseudoSrc.MAP_IDX
    else:
        if bool(value) != (off is not None):
            raise _Syntax("a map value is written map[...][0]+OFF")
        src = PseudoSrc.MAP_VALUE if value else PseudoSrc.MAP_FD
    hi = int(off or 0)
    if hi >= 1 << 32:
        raise _Syntax(f"map value offset {hi} does not fit in 32 bits")
    lo = 0 if name else int(num)
    if lo >= 1 << 32:
        raise _Syntax(f"map {kind} {lo} does not fit in 32 bits")
    return Instruction(LD_IMM64, dst, src, 0, hi << 32 | lo, map=name)


@_form(rf"(r\d+) = subprog\[ ([+-]\d+|{_NAME}) \]")
def _subprog(m: re.Match[str], line: _Line) -> Instruction:
    ref = m.group(2)
    if ref[0] in "+-":
        return Instruction(LD_IMM64, _reg(m.group(1))[0], PseudoSrc.FUNC, 0, _imm32(ref) & 0xFFFFFFFF)
    return Instruction(LD_IMM64, _reg(m.group(1))[0], PseudoSrc.FUNC, 0, 0, target=ref)


@_form(r"(r\d+) = btf_id\[ (\d+) \]")
def _btf_id(m: re.Match[str], line: _Line) -> Instruction:
    return Instruction(LD_IMM64, _reg(m.group(1))[0], PseudoSrc.BTF_ID, 0, _imm32(m.group(2)) & 0xFFFFFFFF)


@_form(rf"({_REG}) = ({_NUM})(\s+ll)?")
def _mov_imm(m: re.Match[str], line: _Line) -> Instruction:
    dst, is32 = _reg(m.group(1))
    text, value = m.group(2), _int(m.group(2))
    if line.opcode is not None or m.group(3) is not None:
        wide = line.opcode == LD_IMM64 or m.group(3) is not None
    else:
        wide = not is32 and ("x" in text.lower() or not -(1 << 31) <= value < (1 << 31))
    if wide:
        if is32:
            raise _Syntax("a 64-bit load needs an r register")
        if not -(1 << 63) <= value < (1 << 64):
            raise _Syntax(f"{text} does not fit in 64 bits")
        return Instruction(LD_IMM64, dst, PseudoSrc.NONE, 0, value & 0xFFFFFFFFFFFFFFFF)
    return Instruction((Class.ALU if is32 else Class.ALU64) | AluOp.MOV | Source.K, dst, imm=_imm32(text))


@_form(rf"({_REG}) (\S+) ({_REG}|{_NUM})")
def _alu(m: re.Match[str], line: _Line) -> Instruction:
    dst, optext, rhs = m.group(1), m.group(2), m.group(3)
    signed = optext in _SIGNED_ALU_BY_TEXT
    op = _SIGNED_ALU_BY_TEXT[optext] if signed else _ALU_BY_TEXT.get(optext)
    if op is None:
        raise _Syntax(f"unknown operator {optext}")
    is_reg = rhs[0] in "rw"
    is32 = _same_width(dst, rhs) if is_reg else _reg(dst)[1]
    cls = Class.ALU if is32 else Class.ALU64
    if is_reg:
        return Instruction(cls | op | Source.X, _reg(dst)[0], _reg(rhs)[0], int(signed))
    return Instruction(cls | op | Source.K, _reg(dst)[0], 0, int(signed), _imm32(rhs))
