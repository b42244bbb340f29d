"""Removing instructions no path reaches.

The verifier rejects a program with an unreachable instruction, and code
generators naturally produce some (the jump over an ``else`` after a
``return``).  Works on symbolic programs, before :func:`assemble`.
"""

from __future__ import annotations

from collections.abc import Sequence

from purebpf.asm.instruction import Instruction
from purebpf.asm.opcodes import Class, JmpOp


def _is_jump(insn: Instruction) -> bool:
    return insn.cls in (Class.JMP, Class.JMP32) and (insn.opcode & 0xF0) not in (JmpOp.CALL, JmpOp.EXIT)


def prune_unreachable(insns: Sequence[Instruction]) -> list[Instruction]:
    """The instructions reachable from the first one, in order.

    Jumps must name their targets by label (``target``); numeric offsets
    would be invalidated by the removal, so a program using them is returned
    unchanged.
    """
    if any(_is_jump(i) and i.target is None and i.off != 0 for i in insns):
        return list(insns)
    where = {insn.label: n for n, insn in enumerate(insns) if insn.label is not None}
    seen: set[int] = set()
    todo = [0]
    while todo:
        n = todo.pop()
        if n in seen or n >= len(insns):
            continue
        seen.add(n)
        insn = insns[n]
        op = insn.opcode & 0xF0
        if insn.cls in (Class.JMP, Class.JMP32) and op == JmpOp.EXIT:
            continue
        if _is_jump(insn):
            if insn.target is not None:
                todo.append(where[insn.target])
            else:
                todo.append(n + 1 + insn.off)
            if op == JmpOp.JA and insn.cls == Class.JMP:
                continue
        todo.append(n + 1)
    return [insn for n, insn in enumerate(insns) if n in seen]
