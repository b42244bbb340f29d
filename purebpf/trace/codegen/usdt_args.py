"""``argN`` of a usdt probe: R0 = the argument, read as its note's spec says
(a ``struct pt_regs`` register, the probed process's memory, or a constant),
then sign- or zero-extended from the spec's size to 64 bits.

When the probe's sites pass arguments differently, the program reads the link
cookie (``bpf_get_attach_cookie``, the index of the site's spec list, see
purebpf.trace.usdt) and branches to the read of that spec.  Uses R0-R3 and one
stack slot; R6 is the context.
"""

from __future__ import annotations

from purebpf.asm import FP, R0, R1, R2, R3, R6, AluOp, JmpOp, add, alu, call, ja, jmp, ldx, mov, st
from purebpf.symbols.usdt import UsdtArg
from purebpf.trace.codegen.base import CodegenBase, CodegenError
from purebpf.trace.location import Location


def emit_usdt_arg(gen: CodegenBase, index: int, loc: Location | None) -> None:
    from purebpf.trace.usdt import spec_lists

    target = gen.scope.target
    lists = spec_lists(target)
    if not any(index < len(specs) for specs in lists):
        most = max((len(s) for s in lists), default=0)
        raise CodegenError(f"arg{index} is out of range: {target.name} has {most} argument"
                           f"{'s' if most != 1 else ''}", loc)
    if len(lists) == 1:
        _read(gen, lists[0][index], loc)
        return
    done = gen.label()
    gen.emit(mov(R1, R6), call("get_attach_cookie"))
    for i, specs in enumerate(lists):
        nxt = gen.label()
        gen.emit(jmp(JmpOp.JNE, R0, i, nxt))
        if index < len(specs):
            _read(gen, specs[index], loc)
        else:
            gen.emit(mov(R0, 0))
        gen.emit(ja(done))
        gen.place(nxt)
    gen.emit(mov(R0, 0))
    gen.place(done)
    gen.emit(ja(0))


def _read(gen: CodegenBase, arg: UsdtArg, loc: Location | None) -> None:
    if arg.kind == "bad":
        raise CodegenError(arg.spec, loc)
    if arg.kind == "const":
        gen.load_imm(R0, arg.value)
    elif arg.kind == "reg":
        gen.emit(ldx(8, R0, R6, arg.reg_offset))
        if arg.shift:
            gen.emit(alu(AluOp.RSH, R0, arg.shift))
    else:
        slot = gen.alloc(8)
        gen.emit(st(8, FP, slot, 0), ldx(8, R3, R6, arg.reg_offset))
        if arg.offset:
            gen.emit(add(R3, arg.offset))
        if arg.index:
            gen.emit(ldx(8, R1, R6, arg.index_offset))
            if arg.scale != 1:
                gen.emit(alu(AluOp.MUL, R1, arg.scale))
            gen.emit(alu(AluOp.ADD, R3, R1))
        gen.emit(mov(R1, FP), add(R1, slot), mov(R2, arg.size), call("probe_read_user"),
                 ldx(8, R0, FP, slot))
    _extend(gen, arg)


def _extend(gen: CodegenBase, arg: UsdtArg) -> None:
    if arg.size == 8:
        return
    bits = 64 - 8 * arg.size
    if arg.signed:
        gen.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH, R0, bits))
    elif arg.size == 4:
        gen.emit(mov(R0, R0, bits=32))
    else:
        gen.emit(alu(AluOp.AND, R0, (1 << 8 * arg.size) - 1))
