"""The code generator's shared parts: constants, the events probes send,
what all probes of a program share, and :class:`CodegenBase` with the
instruction-emitting plumbing (labels, stack slots, copies) the mixins use."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R9,
    AluOp,
    Instruction,
    JmpOp,
    add,
    alu,
    call,
    ja,
    jmp,
    ld_imm64,
    ld_map_fd,
    ldx,
    mov,
    st,
    stx,
)
from purebpf.trace import ast
from purebpf.trace.location import Location
from purebpf.trace.semantic import MapInfo, ProbeScope
from purebpf.trace.types import TType

STACK_LIMIT = 512
RINGBUF = "ringbuf"
KSTACK_MAP = "stack_k"
SKB_MAP = "skb_output"  # the perf event array skboutput() sends packets through (BPF_F_CURRENT_CPU)
SKB_META_SIZE = 32  # what precedes each packet: event id, offset, length, ktime (u64 each)
EXIT_MAP = "exited"  # one u64: set by exit(), so no probe runs between exit() and user space seeing it
USTACK_MAP = "stack_u"
# struct pt_regs offsets on x86_64: di, si, dx, cx, r8, r9 carry arguments, ax the return value
ARG_REGS = (112, 104, 96, 88, 72, 64)
RET_REG = 80
BPF_ANY = 0
JOIN_ARGS = 16          # join(): how many strings it reads at most
JOIN_ARG_SIZE = 1024    # ... and how many bytes of each
BPF_F_USER_STACK = 1 << 8

CMP_OPS = {"==": (JmpOp.JEQ, JmpOp.JEQ), "!=": (JmpOp.JNE, JmpOp.JNE), "<": (JmpOp.JLT, JmpOp.JSLT),
        "<=": (JmpOp.JLE, JmpOp.JSLE), ">": (JmpOp.JGT, JmpOp.JSGT), ">=": (JmpOp.JGE, JmpOp.JSGE)}
ALU_OPS = {"+": AluOp.ADD, "-": AluOp.SUB, "*": AluOp.MUL, "/": AluOp.DIV, "%": AluOp.MOD, "&": AluOp.AND,
        "|": AluOp.OR, "^": AluOp.XOR, "<<": AluOp.LSH, ">>": AluOp.RSH}


@dataclass
class Event:
    """A record the program sends to user space through the ring buffer."""
    kind: str                      # "printf", "print", "print_map", "exit", "clear", "zero", "time", ...
    fmt: str = ""
    arg_types: list[TType] = field(default_factory=list)
    map_name: str = ""
    top: int = 0
    div: int = 0
    loc: Location | None = None

    @property
    def size(self) -> int:
        return 8 + sum(t.padded for t in self.arg_types)


@dataclass
class ProgramContext:
    """What all probes of one bpftrace program share."""
    maps: dict[str, MapInfo]
    params: list[str] = field(default_factory=list)   # positional parameters $1, $2...
    events: list[Event] = field(default_factory=list)
    start_ns: int = field(default_factory=time.monotonic_ns)
    ncpus: int = 1
    cpid: int = 0
    stack_maps: set[str] = field(default_factory=set)  # stack trace maps the program needs
    named: dict[str, str] = field(default_factory=dict)
    enum_values: dict[str, tuple[int, str]] = field(default_factory=dict)
    defines: dict[str, str] = field(default_factory=dict)
    helper_checks: bool = False  # -k: warn when a helper fails (a map read that finds nothing)
    exit_flag: bool = False      # the program calls exit(): probes check EXIT_MAP first

    def event(self, ev: Event) -> int:
        self.events.append(ev)
        return len(self.events) - 1


class CodegenError(Exception):
    def __init__(self, message: str, loc: Location | None) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass
class Frame:
    """One BPF function being generated: the probe itself or a loop callback."""
    label: str
    callback: bool = False
    nparams: int = 1
    insns: list[Instruction] = field(default_factory=list)
    sp: int = 0
    loops: list[tuple[str, str] | None] = field(default_factory=list)  # None: the callback's own loop
    pending: str | None = None

    @property
    def vbase(self):
        """The register pointing at the main frame (where variables live)."""
        return R9 if self.callback else FP


def parse_param(raw: str) -> int | str:
    """A positional parameter: an integer in C notation (``0x1f``, ``0755``, ``12``) or else text."""
    text = raw.strip()
    try:
        if len(text) > 1 and text.startswith("0") and text[1:].isdigit():
            return int(text, 8)
        return int(text, 0)
    except ValueError:
        return raw


def pointee_size(t: TType) -> int:
    if t.kind != "pointer" or not t.elems:
        return 1
    inner = t.elems[0]
    if inner.kind == "pointer":
        return 8
    return max(inner.size, 1) if inner.kind in ("int", "bool", "struct") else 1


def _widest(left: int, *offsets: int) -> int:
    """The widest access (8, 4, 2 or 1 bytes) no longer than ``left`` and aligned at every offset
    (the verifier refuses misaligned stack accesses)."""
    return next(w for w in (8, 4, 2, 1) if w <= left and all(o % w == 0 for o in offsets))


def has_callbacks(probe: ast.Probe) -> bool:
    return any(isinstance(n, ast.For) for n in ast.walk(probe.body))


@dataclass
class FuncInfo:
    """One BPF function of a probe (the main one first), for the BTF func_info the kernel wants with callbacks."""
    label: str
    nparams: int


class CodegenBase:
    def __init__(self, ctx: ProgramContext, scope: ProbeScope) -> None:
        self.ctx = ctx
        self.scope = scope
        self.main = Frame("main")
        self.f = self.main
        self.subprogs: list[Frame] = []
        self.vars: dict[str, int] = {}
        self._labels = 0
        self.ctx_slot = 0
        self.flag_slot = 0
        self.range_slots: dict[int, int] = {}

    # -- plumbing -------------------------------------------------------------------

    def emit(self, *insns: Instruction) -> None:
        f = self.f
        for insn in insns:
            if f.pending is not None:
                insn.label = f.pending
                f.pending = None
            f.insns.append(insn)

    def label(self) -> str:
        self._labels += 1
        return f"L{self._labels}"

    def place(self, label: str) -> None:
        """The next emitted instruction carries ``label``."""
        if self.f.pending is not None:  # two labels at one spot: chain with a no-op jump
            self.emit(ja(0))
        self.f.pending = label

    def alloc(self, size: int, loc: Location | None = None) -> int:
        size = (size + 7) & ~7
        self.f.sp += size
        if self.f.sp > STACK_LIMIT:
            raise CodegenError(f"the probe needs more than {STACK_LIMIT} bytes of BPF stack "
                               "(too many strings or tuples in one statement)", loc)
        return -self.f.sp

    def fp_ptr(self, reg, off: int, base=FP) -> None:
        self.emit(mov(reg, base), add(reg, off))

    def copy(self, dst: int, src: int, size: int, dst_base=FP, src_base=FP) -> None:
        for i in range(0, (size + 7) & ~7, 8):
            self.emit(ldx(8, R1, src_base, src + i), stx(8, dst_base, dst + i, R1))

    def zero(self, off: int, size: int, base=FP) -> None:
        for i in range(0, (size + 7) & ~7, 8):
            self.emit(st(8, base, off + i, 0))

    def copy_exact(self, dst: int, src: int, size: int, dst_base=FP, src_base=FP) -> None:
        """Copy exactly ``size`` bytes: tuple elements are packed as in C, a wider copy would
        overwrite a neighbour or run past the tuple."""
        pos = 0
        while pos < size:
            width = _widest(size - pos, dst + pos, src + pos)
            self.emit(ldx(width, R1, src_base, src + pos), stx(width, dst_base, dst + pos, R1))
            pos += width

    def zero_exact(self, off: int, size: int, base=FP) -> None:
        pos = 0
        while pos < size:
            width = _widest(size - pos, off + pos)
            self.emit(st(width, base, off + pos, 0))
            pos += width

    def load_field(self, t: TType, off: int, base=FP, reg=R0) -> None:
        """``reg`` = the tuple element of type ``t`` at ``base + off``, extended to 64 bits."""
        width = t.field_size
        self.emit(ldx(width, reg, base, off))
        if t.kind == "int" and t.signed and width < 8:
            bits = 64 - width * 8
            self.emit(alu(AluOp.LSH, reg, bits), alu(AluOp.ARSH, reg, bits))

    def copy_resized(self, dst: int, dst_size: int, src: int, src_size: int, dst_base=FP) -> None:
        n = min((dst_size + 7) & ~7, (src_size + 7) & ~7)
        self.copy(dst, src, n, dst_base=dst_base)
        if n < dst_size:
            self.zero(dst + n, dst_size - n, dst_base)

    def load_imm(self, reg, value: int) -> None:
        if -(1 << 31) <= value < (1 << 31):
            self.emit(mov(reg, value))
        else:
            self.emit(ld_imm64(reg, value & 0xFFFFFFFFFFFFFFFF))

    def exit_flag_value(self) -> None:
        """R0 = &exited[0] (an array lookup: never NULL for key 0, but the verifier wants the test)."""
        key = self.alloc(8)
        self.emit(st(8, FP, key, 0), ld_map_fd(R1, EXIT_MAP), mov(R2, FP), add(R2, key), call("map_lookup_elem"))

    def bool_from_jump(self, op: JmpOp, a, b) -> None:
        """R0 = 1 if ``a op b`` else 0."""
        true, done = self.label(), self.label()
        self.emit(jmp(op, a, b, true), mov(R0, 0), ja(done))
        self.place(true)
        self.emit(mov(R0, 1))
        self.place(done)
        self.emit(ja(0))
