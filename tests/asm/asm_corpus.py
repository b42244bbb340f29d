"""Every instruction kind with the text the kernel prints for it.

The texts follow ``kernel/bpf/disasm.c`` (what bpftool and the verifier log
print); the kernel tests in test_disasm_kernel.py check them against the real
thing for everything a socket filter can load.
"""

from __future__ import annotations

from purebpf.asm import (
    R0,
    R1,
    R2,
    R7,
    R10,
    AluOp,
    AtomicOp,
    Class,
    Instruction,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
    alu,
    atomic,
    bswap,
    call,
    call_kfunc,
    endian,
    exit_,
    ja,
    jmp,
    ld_btf_id,
    ld_imm64,
    ld_map_fd,
    ld_map_value,
    ldx,
    mov,
    movsx,
    neg,
    st,
    stx,
)
from purebpf.asm.instruction import LD_IMM64
from purebpf.asm.syntax import ALU_OPS, JMP_OPS

ALU_BINARY = [op for op in AluOp if op not in (AluOp.NEG, AluOp.END)]
COND_JUMPS = list(JMP_OPS)


def _alu_cases() -> list[tuple[str, Instruction, str]]:
    cases = []
    for bits, cls, w in ((64, Class.ALU64, "r"), (32, Class.ALU, "w")):
        for op in ALU_BINARY:
            imm = 3 if op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH, AluOp.DIV, AluOp.MOD) else -7
            code_k, code_x = cls | op | Source.K, cls | op | Source.X
            cases.append((f"alu{bits}-{op.name}-k", alu(op, R1, imm, bits=bits),
                          f"({code_k:02x}) {w}1 {ALU_OPS[op]} {imm}"))
            cases.append((f"alu{bits}-{op.name}-x", alu(op, R1, R2, bits=bits),
                          f"({code_x:02x}) {w}1 {ALU_OPS[op]} {w}2"))
        cases += [
            (f"alu{bits}-sdiv-x", Instruction(cls | AluOp.DIV | Source.X, 1, 2, 1),
             f"({cls | 0x3c:02x}) {w}1 s/= {w}2"),
            (f"alu{bits}-smod-k", Instruction(cls | AluOp.MOD | Source.K, 1, 0, 1, 5),
             f"({cls | 0x90:02x}) {w}1 s%= 5"),
            (f"alu{bits}-neg", neg(R1, bits=bits), f"({cls | 0x80:02x}) {w}1 = -{w}1"),
            (f"alu{bits}-movsx8", movsx(R1, R2, 8, bits=bits), f"({cls | 0xb8:02x}) {w}1 = (s8){w}2"),
            (f"alu{bits}-movsx16", movsx(R1, R2, 16, bits=bits), f"({cls | 0xb8:02x}) {w}1 = (s16){w}2"),
        ]
    return cases + [
        ("alu64-movsx32", movsx(R1, R2, 32), "(bf) r1 = (s32)r2"),
        ("mov-fp", mov(R1, R10), "(bf) r1 = r10"),
        ("mov-neg1", mov(R1, -1), "(b7) r1 = -1"),
        ("mov32-max", mov(R1, 0x7FFFFFFF, bits=32), "(b4) w1 = 2147483647"),
        ("be16", endian(R1, 16, big=True), "(dc) r1 = be16 r1"),
        ("be32", endian(R1, 32, big=True), "(dc) r1 = be32 r1"),
        ("be64", endian(R1, 64, big=True), "(dc) r1 = be64 r1"),
        ("le16", endian(R1, 16, big=False), "(d4) r1 = le16 r1"),
        ("le64", endian(R1, 64, big=False), "(d4) r1 = le64 r1"),
        ("bswap16", bswap(R1, 16), "(d7) r1 = bswap16 r1"),
        ("bswap32", bswap(R1, 32), "(d7) r1 = bswap32 r1"),
        ("bswap64", bswap(R1, 64), "(d7) r1 = bswap64 r1"),
        ("addr-space-cast", Instruction(0xBF, 1, 2, 1, 1), "(bf) r1 = addr_space_cast(r2, 0, 1)"),
        ("percpu-addr", Instruction(0xBF, 1, 2, -1), "(bf) r1 = &(void __percpu *)(r2)"),
    ]


def _ld_cases() -> list[tuple[str, Instruction, str]]:
    return [
        ("imm64", ld_imm64(R1, 0x123456789), "(18) r1 = 0x123456789"),
        ("imm64-zero", ld_imm64(R2, 0), "(18) r2 = 0x0"),
        ("imm64-neg", ld_imm64(R1, -1), "(18) r1 = 0xffffffffffffffff"),
        ("map-fd", ld_map_fd(R1, 5), "(18) r1 = map[id:5]"),
        ("map-value", ld_map_value(R1, 5, 16), "(18) r1 = map[id:5][0]+16"),
        ("map-idx", Instruction(LD_IMM64, 1, PseudoSrc.MAP_IDX, 0, 3), "(18) r1 = map[idx:3]"),
        ("map-idx-value", Instruction(LD_IMM64, 1, PseudoSrc.MAP_IDX_VALUE, 0, 8 << 32 | 3),
         "(18) r1 = map[idx:3]+8"),
        ("btf-id", ld_btf_id(R1, 42), "(18) r1 = btf_id[42]"),
        ("func", Instruction(LD_IMM64, 2, PseudoSrc.FUNC, 0, 30), "(18) r2 = subprog[+30]"),
        ("func-back", Instruction(LD_IMM64, 2, PseudoSrc.FUNC, 0, -5 & 0xFFFFFFFF), "(18) r2 = subprog[-5]"),
        ("ld-abs", Instruction(Class.LD | Size.W | Mode.ABS, imm=12), "(20) r0 = *(u32 *)skb[12]"),
        ("ld-ind", Instruction(Class.LD | Size.H | Mode.IND, src=7, imm=2), "(48) r0 = *(u16 *)skb[r7 + 2]"),
    ]


def _mem_cases() -> list[tuple[str, Instruction, str]]:
    cases = []
    for nbytes, name in ((1, "u8"), (2, "u16"), (4, "u32"), (8, "u64")):
        sz = Size.of(nbytes)
        cases += [
            (f"ldx-{name}", ldx(nbytes, R1, R2, 4), f"({Class.LDX | sz | Mode.MEM:02x}) r1 = *({name} *)(r2 +4)"),
            (f"stx-{name}", stx(nbytes, R10, -8, R1), f"({Class.STX | sz | Mode.MEM:02x}) *({name} *)(r10 -8) = r1"),
            (f"st-{name}", st(nbytes, R10, -16, -3), f"({Class.ST | sz | Mode.MEM:02x}) *({name} *)(r10 -16) = -3"),
        ]
    for nbytes, name in ((1, "s8"), (2, "s16"), (4, "s32")):
        code = Class.LDX | Size.of(nbytes) | Mode.MEMSX
        cases.append((f"ldsx-{name}", ldx(nbytes, R1, R2, -2, signed=True), f"({code:02x}) r1 = *({name} *)(r2 -2)"))
    return cases


def _atomic_cases() -> list[tuple[str, Instruction, str]]:
    cases = []
    for nbytes, size, suffix in ((4, "u32", ""), (8, "u64", "64")):
        code = Class.STX | Size.of(nbytes) | Mode.ATOMIC
        for op, text, name in ((AtomicOp.ADD, "+=", "add"), (AtomicOp.OR, "|=", "or"), (AtomicOp.AND, "&=", "and"),
                               (AtomicOp.XOR, "^=", "xor")):
            cases.append((f"lock-{name}{nbytes * 8}", atomic(op, nbytes, R1, 8, R2),
                          f"({code:02x}) lock *({size} *)(r1 +8) {text} r2"))
            cases.append((f"fetch-{name}{nbytes * 8}", atomic(op | AtomicOp.FETCH, nbytes, R1, -8, R2),
                          f"({code:02x}) r2 = atomic{suffix}_fetch_{name}(({size} *)(r1 -8), r2)"))
        cases += [
            (f"xchg{nbytes * 8}", atomic(AtomicOp.XCHG, nbytes, R1, 0, R2),
             f"({code:02x}) r2 = atomic{suffix}_xchg(({size} *)(r1 +0), r2)"),
            (f"cmpxchg{nbytes * 8}", atomic(AtomicOp.CMPXCHG, nbytes, R1, 0, R2),
             f"({code:02x}) r0 = atomic{suffix}_cmpxchg(({size} *)(r1 +0), r0, r2)"),
        ]
    return cases + [
        ("load-acquire", Instruction(0xC3, 2, 1, 8, AtomicOp.LOAD_ACQ), "(c3) r2 = load_acquire((u32 *)(r1 +8))"),
        ("load-acquire8", Instruction(0xD3, 2, 1, 0, AtomicOp.LOAD_ACQ), "(d3) r2 = load_acquire((u8 *)(r1 +0))"),
        ("store-release", Instruction(0xDB, 1, 2, -8, AtomicOp.STORE_REL),
         "(db) store_release((u64 *)(r1 -8), r2)"),
    ]


def _jmp_cases() -> list[tuple[str, Instruction, str]]:
    cases = []
    for bits, cls, w in ((64, Class.JMP, "r"), (32, Class.JMP32, "w")):
        for op in COND_JUMPS:
            cases.append((f"jmp{bits}-{op.name}-k", jmp(op, R1, 5, 3, bits=bits),
                          f"({cls | op:02x}) if {w}1 {JMP_OPS[op]} 0x5 goto pc+3"))
            cases.append((f"jmp{bits}-{op.name}-x", jmp(op, R1, R2, -4, bits=bits),
                          f"({cls | op | Source.X:02x}) if {w}1 {JMP_OPS[op]} {w}2 goto pc-4"))
    return cases + [
        ("jmp-neg-imm", jmp(JmpOp.JSLT, R1, -1, 0), "(c5) if r1 s< 0xffffffff goto pc+0"),
        ("ja", ja(3), "(05) goto pc+3"),
        ("ja-back", ja(-2), "(05) goto pc-2"),
        ("gotol", Instruction(Class.JMP32 | JmpOp.JA, imm=70000), "(06) gotol pc+70000"),
        ("may-goto", Instruction(Class.JMP | JmpOp.JCOND, off=2), "(e5) may_goto pc+2"),
        ("call-helper", call("map_lookup_elem"), "(85) call bpf_map_lookup_elem#1"),
        ("call-helper-id", call(5), "(85) call bpf_ktime_get_ns#5"),
        ("call-unspec", call(0), "(85) call bpf_unspec#0"),
        ("call-unknown", call(100000), "(85) call unknown#100000"),
        ("call-local", Instruction(Class.JMP | JmpOp.CALL, 0, 1, 0, 5), "(85) call pc+5"),
        ("call-local-back", Instruction(Class.JMP | JmpOp.CALL, 0, 1, 0, -9), "(85) call pc-9"),
        ("call-kfunc", call_kfunc(1234), "(85) call kernel-function#1234"),
        ("call-kfunc-module", call_kfunc(1234, 2), "(85) call kernel-function#1234 fd_array[2]"),
        ("exit", exit_(), "(95) exit"),
        ("nospec", Instruction(Class.ST | 0xC0), "(c2) nospec"),
        ("mov-r0", mov(R0, 0), "(b7) r0 = 0"),
        ("mov-r7", mov(R7, R1), "(bf) r7 = r1"),
    ]


EVERY: list[tuple[str, Instruction, str]] = _alu_cases() + _ld_cases() + _mem_cases() + _atomic_cases() + _jmp_cases()
