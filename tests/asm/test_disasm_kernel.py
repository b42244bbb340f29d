"""The oracle tests: our disassembly of real programs, line for line against
``bpftool prog dump xlated`` (translated code read back from the kernel) and
against the verifier log's own listing (code as loaded, incl. the v4 ISA that
this bpftool predates)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from purebpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R10,
    AluOp,
    AtomicOp,
    Class,
    Instruction,
    JmpOp,
    Mode,
    PseudoCall,
    PseudoSrc,
    Size,
    Source,
    alu,
    assemble,
    atomic,
    bswap,
    call,
    call_local,
    decode,
    disassemble,
    encode,
    endian,
    exit_,
    format_insn,
    ja,
    jmp,
    ld_imm64,
    ld_map_fd,
    ld_map_value,
    ldx,
    mov,
    movsx,
    neg,
    parse,
    st,
    stx,
)
from purebpf.sys import MapType

MakeMap = Callable[..., int]

SHIFTS_AND_DIVS = (AluOp.LSH, AluOp.RSH, AluOp.ARSH, AluOp.DIV, AluOp.MOD)
BINARY = [op for op in AluOp if op not in (AluOp.NEG, AluOp.END)]
CONDITIONS = [op for op in JmpOp if op not in (JmpOp.JA, JmpOp.CALL, JmpOp.EXIT, JmpOp.JCOND)]


def _ctx_scalars() -> list[Instruction]:
    """r6 = ctx, r7 and r8 = unknown scalars (skb->len, skb->protocol), so no branch is dead."""
    return [mov(R6, R1), ldx(4, R7, R6, 0), ldx(4, R8, R6, 16), alu(AluOp.OR, R8, 1)]


def prog_alu(make_map: MakeMap) -> list[Instruction]:
    insns = _ctx_scalars() + [mov(R1, R7)]
    for bits in (64, 32):
        for op in BINARY:
            insns.append(alu(op, R1, 3 if op in SHIFTS_AND_DIVS else -7, bits=bits))
            insns.append(alu(op, R1, R8, bits=bits))
        insns.append(neg(R1, bits=bits))
    for width in (16, 32, 64):
        insns += [endian(R1, width, big=True), endian(R1, width, big=False)]
    return insns + [mov(R2, R10), mov(R3, R1, bits=32), mov(R0, 0, bits=32), exit_()]


def prog_memory(make_map: MakeMap) -> list[Instruction]:
    insns = _ctx_scalars()
    for nbytes, off in ((1, -1), (2, -4), (4, -8), (8, -16)):
        insns += [st(nbytes, R10, off, -3), stx(nbytes, R10, off, R7), ldx(nbytes, R1, R10, off)]
    insns += [stx(8, R10, -24, R7), stx(4, R10, -28, R7), mov(R2, R8)]
    for nbytes, off in ((8, -24), (4, -28)):
        for op in (AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR):
            insns += [atomic(op, nbytes, R10, off, R2), atomic(op | AtomicOp.FETCH, nbytes, R10, off, R2)]
        insns += [atomic(AtomicOp.XCHG, nbytes, R10, off, R2), mov(R0, R7),
                  atomic(AtomicOp.CMPXCHG, nbytes, R10, off, R2)]
    return insns + [mov(R0, 0), exit_()]


def prog_jumps(make_map: MakeMap) -> list[Instruction]:
    insns = _ctx_scalars() + [mov(R0, 0)]
    for bits in (64, 32):
        for op in CONDITIONS:
            insns += [jmp(op, R7, 5, 1, bits=bits), mov(R0, 1), jmp(op, R7, R8, 1, bits=bits), mov(R0, 2)]
    insns += [jmp(JmpOp.JSGT, R7, -1, "skip"), ja("out"), mov(R0, 3).with_label("skip"), exit_().with_label("out")]
    return insns


def prog_calls_and_maps(make_map: MakeMap) -> list[Instruction]:
    array = make_map(MapType.ARRAY, 4, 8, 1)
    hashmap = make_map(MapType.HASH, 4, 8, 4)
    progs = make_map(MapType.PROG_ARRAY, 4, 4, 2)
    lookup = [mov(R2, R10), alu(AluOp.ADD, R2, -4), call("map_lookup_elem")]
    return _ctx_scalars() + [
        st(4, R10, -4, 0),
        ld_map_fd(R1, array), *lookup, jmp(JmpOp.JEQ, R0, 0, "hash"), atomic(AtomicOp.ADD, 8, R0, 0, R7),
        ld_map_fd(R1, hashmap).with_label("hash"), *lookup, jmp(JmpOp.JEQ, R0, 0, "global"),
        stx(8, R0, 0, R8),
        ld_map_value(R3, array, 0).with_label("global"), ldx(8, R4, R3, 0),
        ld_map_value(R3, array, 4), ldx(4, R4, R3, 0),
        call("ktime_get_ns"), call("get_prandom_u32"),
        ld_imm64(R5, 0x123456789ABCDEF), ld_imm64(R5, -2),
        mov(R1, R6), ld_map_fd(R2, progs), mov(R3, 1), call("tail_call"),
        mov(R1, R7), call_local("double"), mov(R1, R0), call_local("double"),
        exit_(),
        mov(R0, R1).with_label("double"), alu(AluOp.ADD, R0, R1), exit_(),
    ]


def prog_skb_loads(make_map: MakeMap) -> list[Instruction]:
    return [
        mov(R6, R1),
        Instruction(Class.LD | Size.B | Mode.ABS, imm=12),
        Instruction(Class.LD | Size.H | Mode.ABS, imm=12),
        Instruction(Class.LD | Size.W | Mode.ABS, imm=0),
        mov(R7, 2),
        Instruction(Class.LD | Size.W | Mode.IND, src=7, imm=4),
        exit_(),
    ]


PROGRAMS = [prog_alu, prog_memory, prog_jumps, prog_calls_and_maps, prog_skb_loads]


@pytest.mark.parametrize("build", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_xlated_matches_bpftool(build, load_filter, make_map, call_namer, bpftool_xlated) -> None:
    prog = load_filter(build(make_map))
    ours = disassemble(decode(prog.xlated), xlated=True, call_names=call_namer(prog))
    theirs = bpftool_xlated(prog.id)
    assert ours.splitlines() == theirs.splitlines()


def test_xlated_opcodes_match_bpftool(load_filter, make_map, call_namer, bpftool_xlated) -> None:
    prog = load_filter(prog_calls_and_maps(make_map))
    ours = disassemble(decode(prog.xlated), opcodes=True, xlated=True, call_names=call_namer(prog))
    assert ours.splitlines() == bpftool_xlated(prog.id, opcodes=True).splitlines()


def prog_v4_and_friends() -> list[Instruction]:
    """Instructions newer than this bpftool (v4 ISA, may_goto, load-acquire) plus loads it
    rewrites, checked against the kernel's own listing of the code as loaded."""
    insns = _ctx_scalars() + [stx(8, R10, -8, R7)]
    for bits in (64, 32):
        insns += [movsx(R1, R7, 8, bits=bits), movsx(R1, R7, 16, bits=bits)]
        cls = Class.ALU64 if bits == 64 else Class.ALU
        insns += [Instruction(cls | op | Source.K, 1, 0, 1, 3) for op in (AluOp.DIV, AluOp.MOD)]
        insns += [Instruction(cls | op | Source.X, 1, 8, 1) for op in (AluOp.DIV, AluOp.MOD)]
    insns += [movsx(R1, R7, 32)]
    insns += [ldx(n, R2, R10, -8, signed=True) for n in (1, 2, 4)]
    insns += [bswap(R1, w) for w in (16, 32, 64)]
    insns += [
        Instruction(Class.STX | Size.DW | Mode.ATOMIC, 3, 10, -8, AtomicOp.LOAD_ACQ),
        Instruction(Class.STX | Size.W | Mode.ATOMIC, 10, 7, -8, AtomicOp.STORE_REL),
        Instruction(Class.JMP | JmpOp.JCOND, off=1), mov(R0, 5),
        jmp(JmpOp.JGT, R7, 5, 1), Instruction(Class.JMP32 | JmpOp.JA, imm=1), mov(R0, 6),
        jmp(JmpOp.JSET, R7, 4, 1, bits=32),
        mov(R0, 0),
        Instruction(Class.LD | Size.H | Mode.ABS, imm=12),
        mov(R1, R0), call_local("sub"), call("ktime_get_ns"), ld_imm64(R2, 1 << 40), exit_(),
        mov(R0, 0, bits=32).with_label("sub"), exit_(),
    ]
    return insns


def test_loaded_code_matches_verifier_listing(load_filter, verifier_listing) -> None:
    insns = assemble(prog_v4_and_friends())
    prog = load_filter(insns, log_level=2)
    listing = verifier_listing(prog.log)
    ours: dict[int, str] = {}
    pc = 0
    for insn in insns:
        ours[pc] = format_insn(insn)
        pc += insn.slots
    assert listing == ours


def test_verifier_listing_of_map_loads_differs_only_by_pointer(load_filter, make_map, verifier_listing) -> None:
    """The verifier prints the map pointer it substituted; everything else is ours."""
    insns = assemble(prog_calls_and_maps(make_map))
    listing = verifier_listing(load_filter(insns, log_level=2).log)
    pc = 0
    for insn in insns:
        if insn.is_ld_imm64 and insn.src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE):
            assert listing[pc].startswith(f"(18) r{int(insn.dst)} = 0x")
        else:
            assert listing[pc] == format_insn(insn)
        pc += insn.slots
    assert len(listing) == len(insns)


@pytest.mark.parametrize("build", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_parse_reads_bpftool_dump(build, load_filter, make_map, bpftool_xlated) -> None:
    """bpftool's text parses back to the kernel's bytes; a bpf-to-bpf call comes back in
    its loadable form (offset in imm), where the kernel keeps it in off."""
    prog = load_filter(build(make_map))
    expected = [i.replace(off=0, imm=i.off) if i.opcode == 0x85 and i.src == PseudoCall.CALL else i
                for i in decode(prog.xlated)]
    assert encode(parse(bpftool_xlated(prog.id))) == encode(expected)
