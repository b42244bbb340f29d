"""Resolve the symbolic references in a program: labels and map names.

Programs are built with labels (``jmp(JmpOp.JEQ, R1, 0, "out")``,
``call_local("sub")``, ``ld_func(R2, "cb")``) so nobody counts slots by hand;
:func:`assemble` turns them into the relative offsets the kernel wants.  Map
names stay symbolic until the maps exist: the loader calls :func:`resolve_maps`
with their fds.

    prog = assemble([
        jmp(JmpOp.JEQ, R1, 0, "out"),
        ld_imm64(R0, 1 << 40),        # two slots
        exit_().with_label("out"),
    ])                                 # prog[0].off == 2
"""

from __future__ import annotations

from purebpf.asm.instruction import Instruction
from purebpf.asm.opcodes import Class, JmpOp, PseudoCall, PseudoSrc
from purebpf.errors import InvalidInputError

TYPE_CHECKING = False  # collections.abc imports collections (~1 ms): only type checkers read these
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["assemble", "label_slots", "parse", "resolve_maps"]  # noqa: F822 - parse: lazy, below


def __getattr__(name: str):
    if name == "parse":  # imported on first use: the text parser is not on the builders' path
        from purebpf.asm.parser import parse

        return parse
    raise AttributeError(f"module 'purebpf.asm.assembler' has no attribute {name!r}")

_S16 = (-(1 << 15), (1 << 15) - 1)
_S32 = (-(1 << 31), (1 << 31) - 1)


def label_slots(insns: Iterable[Instruction]) -> dict[str, int]:
    """Slot index of each label (a 64-bit load counts two slots); duplicates are an error."""
    slots: dict[str, int] = {}
    pc = 0
    for insn in insns:
        if insn.label is not None:
            if insn.label in slots:
                raise InvalidInputError(f"label '{insn.label}' is defined twice (slots {slots[insn.label]} and {pc}); "
                                        "rename one")
            slots[insn.label] = pc
        pc += insn.slots
    return slots


def assemble(insns: Iterable[Instruction]) -> list[Instruction]:
    """A copy of ``insns`` with every ``target`` label resolved into ``off`` or ``imm``.

    Jumps (JMP, JMP32, ``goto``, ``may_goto``) get ``off`` (``gotol`` gets
    ``imm``), bpf-to-bpf calls and ``ld_func`` get ``imm``: all relative to the
    slot after the instruction.  Map references are left for :func:`resolve_maps`.
    The input list is not modified.
    """
    insns = list(insns)
    slots = label_slots(insns)
    out: list[Instruction] = []
    pc = 0
    for insn in insns:
        out.append(_resolve(insn, pc, slots) if insn.target is not None else insn.replace())
        pc += insn.slots
    return out


def _resolve(insn: Instruction, pc: int, slots: Mapping[str, int]) -> Instruction:
    if insn.target not in slots:
        raise InvalidInputError(f"unknown label '{insn.target}' at slot {pc}: define it with "
                                f"insn.with_label('{insn.target}') (or '{insn.target}:' in text)")
    rel = slots[insn.target] - (pc + 1)
    cls, op = insn.opcode & 0x07, insn.opcode & 0xF0
    if insn.is_ld_imm64 and insn.src == PseudoSrc.FUNC:
        return insn.replace(imm=_fit(rel, _S32, insn, pc), target=None)
    if cls == Class.JMP and op == JmpOp.CALL and insn.src == PseudoCall.CALL:
        return insn.replace(imm=_fit(rel, _S32, insn, pc), target=None)
    if cls == Class.JMP32 and op == JmpOp.JA:
        return insn.replace(imm=_fit(rel, _S32, insn, pc), target=None)
    if cls in (Class.JMP, Class.JMP32) and op not in (JmpOp.CALL, JmpOp.EXIT):
        return insn.replace(off=_fit(rel, _S16, insn, pc), target=None)
    raise InvalidInputError(f"instruction at slot {pc} (opcode {insn.opcode:#04x}) names target '{insn.target}' "
                            "but is not a jump, a bpf-to-bpf call or an ld_func")


def _fit(rel: int, bounds: tuple[int, int], insn: Instruction, pc: int) -> int:
    lo, hi = bounds
    if not lo <= rel <= hi:
        raise InvalidInputError(f"jump from slot {pc} to label '{insn.target}' is {rel} slots, outside the "
                                f"range {lo}..{hi} this instruction can encode; use gotol (JMP32 JA) or split "
                                "the program into subprograms")
    return rel


def resolve_maps(insns: Iterable[Instruction], fds: Mapping[str, int]) -> list[Instruction]:
    """A copy of ``insns`` with each named map reference filled with its fd from ``fds``.

    For a map value load (``PseudoSrc.MAP_VALUE``) the offset stays in the high
    32 bits of ``imm`` and the fd goes in the low 32.
    """
    out: list[Instruction] = []
    for pc, insn in enumerate(insns):
        if insn.map is not None:
            if insn.map not in fds:
                known = ", ".join(sorted(fds)) or "none"
                raise InvalidInputError(f"instruction #{pc} refers to map '{insn.map}', which was not given "
                                        f"(known maps: {known})")
            fd = fds[insn.map] & 0xFFFFFFFF
            if insn.src in (PseudoSrc.MAP_VALUE, PseudoSrc.MAP_IDX_VALUE):
                imm = (insn.imm & ~0xFFFFFFFF & 0xFFFFFFFFFFFFFFFF) | fd
            else:
                imm = fd
            out.append(insn.replace(imm=imm, map=None))
        else:
            out.append(insn.replace())
    return out
