"""Code generation: one probe's tree to eBPF instructions, directly.

Every expression leaves its value either in ``R0`` (integers, booleans,
pointers) or in a stack buffer whose frame offset :meth:`ProbeCodegen.expr`
returns (strings, tuples, arrays).  ``R6`` keeps the probe's context pointer.
Temporaries are stack slots released after each statement.

``for`` loops become callbacks (``bpf_for_each_map_elem`` over a map,
``bpf_loop`` over a range): separate functions appended after the main one.
The probe's variables stay in the main function's frame; a callback reaches
them through the pointer it is given as context (kept in ``R9``), and leaves a
flag there when the body asked to leave the probe (``return``, ``exit()``).
"""

from __future__ import annotations

from purebpf.asm import Instruction
from purebpf.trace import ast
from purebpf.trace.codegen.base import (
    EXIT_MAP,
    KSTACK_MAP,
    RINGBUF,
    USTACK_MAP,
    CodegenError,
    Event,
    FuncInfo,
    ProgramContext,
    StackOverflow,
    parse_param,
)
from purebpf.trace.codegen.calls import CallsMixin
from purebpf.trace.codegen.expressions import ExpressionsMixin
from purebpf.trace.codegen.maps import MapsMixin
from purebpf.trace.codegen.statements import StatementsMixin
from purebpf.trace.codegen.strings import StringsMixin
from purebpf.trace.location import Diagnostics
from purebpf.trace.semantic import ProbeScope
from purebpf.trace.types import BOOL


class ProbeCodegen(StatementsMixin, MapsMixin, ExpressionsMixin, CallsMixin, StringsMixin):
    """One probe's code generator: the mixins, one per kind of node, share the
    plumbing of :class:`~purebpf.trace.codegen.base.CodegenBase`."""


def compile_probe(ctx: ProgramContext, scope: ProbeScope, probe: ast.Probe,
                  diags: Diagnostics) -> tuple[list[Instruction], list[FuncInfo]] | None:
    """Instructions for one concrete probe and its functions, or None after reporting an error."""
    events, stack_maps = len(ctx.events), set(ctx.stack_maps)
    gen = ProbeCodegen(ctx, scope)
    try:
        try:
            insns = gen.build(probe)
        except StackOverflow:  # again, with the frame in scratch memory
            del ctx.events[events:]
            ctx.stack_maps = stack_maps
            gen = ProbeCodegen(ctx, scope, scratch=f"scratch{len(ctx.scratch)}")
            insns = gen.build(probe)
    except CodegenError as exc:
        diags.error(str(exc), exc.loc)
        return None
    return insns, [FuncInfo(f.label, f.nparams) for f in gen.subprogs]


__all__ = ["BOOL", "EXIT_MAP", "KSTACK_MAP", "RINGBUF", "USTACK_MAP", "CodegenError", "Event", "FuncInfo",
           "ProbeCodegen", "ProgramContext", "compile_probe", "parse_param"]
