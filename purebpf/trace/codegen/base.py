"""The code generator's shared parts: constants, the events probes send,
what all probes of a program share, and :class:`CodegenBase` with the
instruction-emitting plumbing (labels, stack slots, copies) the mixins use."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R9,
    AluOp,
    Instruction,
    JmpOp,
    add,
    alu,
    call,
    exit_,
    ja,
    jmp,
    ld_func,
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
# a probe whose values do not fit the BPF stack keeps its whole frame (and its loop callbacks' frames) in
# scratch memory: one element per CPU of an array map, found at the start of each function (see scratch_*)
SCRATCH_LIMIT = 1 << 22
SCRATCH_BASE = R9           # the scratch frame's base in every function (callbacks' vbase is the same)
BIG_COPY = 512              # copies and clears this large use a helper call, not one instruction per word
REAL_KEY, REAL_CTX, REAL_ARGS = -8, -16, -32  # what stays on the real stack: the lookup key, ctx, callback args
# bpf_loop's state for loops over string positions (see run_loop): the helper wants it on the real stack
REAL_LOOP_STATE = -64
LOOP_STATE = 32          # pointers to the strings (up to two), the result word, one spare word
LOOP_RESULT, LOOP_SPARE = 16, 24
LOOP_NUMBER = LOOP_RESULT + 4  # a u32 result the verifier does not follow (see run_loop)
# string operations over more bytes than this run in a bpf_loop callback, whose cost to the verifier does
# not grow with the size; below it, one compare-and-branch per byte in line is faster
UNROLL_BYTES = 64
# a call costs as much as a few dozen instructions (return thunks...): each call of a loop callback does more
STRING_CHUNK = 8         # bytes a callback compares a call, a byte at a time (strings not 8-byte aligned)
WORDS_PER_CALL = 8       # aligned words a callback compares or scans for a NUL a call
LITERAL_BYTES_PER_CALL = 256  # bytes of a literal strcontains() compares a call (at as many places as fit)
# a word holds a zero byte where (word - ONES) & ~word & HIGHS is not 0
ZERO_TEST_ONES, ZERO_TEST_HIGHS = 0x0101010101010101, 0x8080808080808080
RINGBUF = "ringbuf"
KSTACK_MAP = "stack_k"
SKB_MAP = "skb_output"  # the perf event array skboutput() sends packets through (BPF_F_CURRENT_CPU)
SKB_META_SIZE = 32  # what precedes each packet: event id, offset, length, ktime (u64 each)
EXIT_MAP = "exited"  # one u64: when exit() ran (ktime ns), so probes stop soon after it in the kernel
# exit() is asynchronous in bpftrace: probes run on until user space sees the event and detaches them, so a
# burst in flight (a loop's calls) is counted whole.  Probes stop themselves this long after exit(), as if
# user space always reacted this fast: a 1 ms timer never fires again, however slow this tracer is.
EXIT_GRACE_NS = 500_000
USTACK_MAP = "stack_u"
# uprobe_multi: one program serves several functions; its link gives each a cookie indexing this array,
# whose element holds that function's `probe` then its `func` (names_slot bytes each, NUL-padded)
PROBE_NAMES_MAP = "probe_names"
# per-CPU room for one bpf_get_stack() of up to 1024 frames: len() of a stack counts its frames there
STACK_SCRATCH_MAP = "stack_scratch"
STACK_SCRATCH_FRAMES = 1024
# struct pt_regs offsets on x86_64: di, si, dx, cx, r8, r9 carry arguments, ax the return value
ARG_REGS = (112, 104, 96, 88, 72, 64)
RET_REG = 80
# x86_64 struct pt_regs offsets by the names reg() takes (``pc`` is ``ip``)
PT_REGS = {name: 8 * i for i, name in enumerate(
    ("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax",
     "ip", "cs", "flags", "sp", "ss"))}
PT_REGS["pc"] = PT_REGS["ip"]
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
    # the arguments in record order: the longest string last, where the record may end at its NUL
    order: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.order:
            self.order = record_order(self.arg_types)

    @property
    def size(self) -> int:
        return 8 + sum(t.padded for t in self.arg_types)

    def slots(self) -> list[tuple[int, int]]:
        """(argument index, offset in the record) in record order."""
        out, pos = [], 8
        for i in self.order:
            out.append((i, pos))
            pos += self.arg_types[i].padded
        return out


# a string at least this big ends its record, which then stops at the string's NUL (see CallsMixin.send)
TAIL_STRING_MIN = 64


def record_order(types: list[TType]) -> list[int]:
    """The arguments as written, but the biggest string (of TAIL_STRING_MIN bytes or more) moved last."""
    order = list(range(len(types)))
    strings = [i for i in order if types[i].kind == "string" and types[i].size >= TAIL_STRING_MIN]
    if strings:
        tail = max(reversed(strings), key=lambda i: types[i].size)
        order.remove(tail)
        order.append(tail)
    return order


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
    scratch: dict[str, int] = field(default_factory=dict)  # scratch frame maps: name -> bytes per CPU
    named: dict[str, str] = field(default_factory=dict)
    enum_values: dict[str, tuple[int, str]] = field(default_factory=dict)
    defines: dict[str, str] = field(default_factory=dict)
    helper_checks: bool = False  # -k: warn when a helper fails (a map read that finds nothing)
    exit_flag: bool = False      # the program calls exit(): probes check EXIT_MAP first
    pid_filter: int = 0          # -p PID: kernel probes run only for that process (see statements.build)
    names_slot: int = 0          # bytes of one name in PROBE_NAMES_MAP (0: no uprobe_multi probes)

    def event(self, ev: Event) -> int:
        self.events.append(ev)
        return len(self.events) - 1


class CodegenError(Exception):
    def __init__(self, message: str, loc: Location | None) -> None:
        super().__init__(message)
        self.loc = loc


class StackOverflow(CodegenError):
    """The probe's values do not fit the BPF stack: generate it again with a scratch frame."""


@dataclass
class Frame:
    """One BPF function being generated: the probe itself or a loop callback."""
    label: str
    callback: bool = False
    nparams: int = 1
    insns: list[Instruction] = field(default_factory=list)
    sp: int = 0
    peak: int = 0  # the deepest sp reached (a scratch frame is laid out for it)
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
    def __init__(self, ctx: ProgramContext, scope: ProbeScope, scratch: str | None = None) -> None:
        self.ctx = ctx
        self.scope = scope
        self.scratch = scratch      # the scratch map's name when the frame lives there
        self.real: set[int] = set()  # ids of instructions that address the real stack in scratch mode
        self.base_fixups: list[Instruction] = []  # ``add R9, <main frame size>``, patched at the end
        self.main = Frame("main")
        self.f = self.main
        self.subprogs: list[Frame] = []
        self.vars: dict[str, int] = {}
        self._labels = 0
        self.ctx_slot = 0
        self.flag_slot = 0
        self.range_slots: dict[int, int] = {}
        self.callbacks: dict[tuple, str] = {}  # self-contained loop callbacks by what they do (see callback)

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

    def r0_from(self, done: str, *cases: tuple[str, int]) -> None:
        """R0 = each case's value from its label on (code before falls into the first), then all go on at
        ``done``: the ending every test that yields a number shares."""
        for i, (label, value) in enumerate(cases):
            self.place(label)
            self.emit(mov(R0, value))
            if i < len(cases) - 1:
                self.emit(ja(done))
        self.place(done)
        self.emit(ja(0))

    def alloc(self, size: int, loc: Location | None = None) -> int:
        size = (size + 7) & ~7
        self.f.sp += size
        self.f.peak = max(self.f.peak, self.f.sp)
        if self.f.sp > STACK_LIMIT and self.scratch is None:
            raise StackOverflow(f"the probe needs more than {STACK_LIMIT} bytes of BPF stack", loc)
        if self.f.sp > SCRATCH_LIMIT:
            raise CodegenError(f"the probe needs more than {SCRATCH_LIMIT} bytes of memory "
                               "(too many or too large strings or tuples in one statement)", loc)
        return -self.f.sp

    # -- loops over string positions -------------------------------------------------------

    def callback(self, key: tuple, body: Callable[[], None]) -> str:
        """The label of a bpf_loop callback(index, state) that reads and writes only through its state
        pointer (no frame of its own, nothing the scratch frames rebase): ``body`` emits it, once per
        probe for each ``key`` (what it does and the sizes it is bounded by)."""
        label = self.callbacks.get(key)
        if label is None:
            label = self.callbacks[key] = f"cb{self.label()}"
            parent, self.f = self.f, Frame(label, callback=True, nparams=2)
            self.subprogs.append(self.f)
            self.place(label)
            body()
            self.f = parent
        return label

    def run_loop(self, label: str, count: int, ptrs: tuple[int, ...], result: int, width: int = 8) -> None:
        """R0 = the result word after ``bpf_loop(count, label, state)``: the state holds pointers to the
        frame slots ``ptrs`` (stack or scratch memory: the verifier tracks spilled pointers), then the result
        word, ``result`` at first.  With a scratch frame the state is on the real stack, as the helper wants.
        A callback that leaves a varying number there (not a flag) makes it 4 bytes wide (``width``), at
        LOOP_NUMBER: the verifier does not follow what is stored off an 8-byte boundary, where it would verify
        the callback again for each value."""
        if self.scratch is None:
            state, put = self.alloc(LOOP_STATE), self.emit
        else:
            state, put = REAL_LOOP_STATE, self.emit_real
        for i, off in enumerate(ptrs):
            self.fp_ptr(R1, off)
            put(stx(8, FP, state + 8 * i, R1))
        where = state + (LOOP_RESULT if width == 8 else LOOP_NUMBER)
        put(st(width, FP, where, result))
        self.emit(mov(R1, count), ld_func(R2, label))
        put(mov(R3, FP))
        self.emit(add(R3, state), mov(R4, 0), call("loop"))
        put(ldx(width, R0, FP, where))

    # -- scratch frames ------------------------------------------------------------------

    def emit_real(self, *insns: Instruction) -> None:
        """Instructions that address the real stack even when the frame is in scratch memory."""
        self.emit(*insns)
        self.real.update(id(i) for i in insns)

    def scratch_prologue(self, args: tuple = (), ctx_reg=None) -> None:
        """Point R9 at this CPU's scratch frame (``array[cpu]``); in a callback, first take R6 from the
        caller's real stack (``ctx_reg`` points there) and keep the callback's arguments across the lookup."""
        for i, reg in enumerate(args):
            self.emit_real(stx(8, FP, REAL_ARGS + 8 * i, reg))
        if ctx_reg is not None:
            self.emit(ldx(8, R6, ctx_reg, REAL_CTX))
        self.emit_real(stx(8, FP, REAL_CTX, R6))
        found = self.label()
        self.emit(call("get_smp_processor_id"))
        self.emit_real(stx(4, FP, REAL_KEY, R0), ld_map_fd(R1, self.scratch), mov(R2, FP))
        self.emit(add(R2, REAL_KEY), call("map_lookup_elem"), jmp(JmpOp.JNE, R0, 0, found))
        self.emit(ja("exit") if not self.f.callback else mov(R0, 0))
        if self.f.callback:
            self.emit(exit_())
        self.place(found)
        fixup = add(SCRATCH_BASE, 0)
        self.emit(mov(SCRATCH_BASE, R0), fixup)
        self.base_fixups.append(fixup)
        for i, reg in enumerate(args):
            self.emit_real(ldx(8, reg, FP, REAL_ARGS + 8 * i))

    def scratch_finish(self, frames: list[Frame]) -> None:
        """Lay the frames out in the scratch element (the main frame first, then each callback's) and
        move every access of the frame pointer to R9 with the frame's place in it."""
        main_size = max(self.main.peak, 8)
        total = main_size + sum(f.peak for f in frames if f is not self.main)
        # R9 points this far into the element: 16-bit offsets then reach 64 KiB of frames
        middle = min(total, 1 << 15)
        for fixup in self.base_fixups:
            fixup.imm = middle
        shift = main_size - middle  # from frame offsets (the main frame ends at main_size) to R9's
        vshift = shift
        for frame in frames:
            if frame is not self.main:
                shift += frame.peak
            frame.insns = self._rebase(frame.insns, shift, vshift)
        self.ctx.scratch[self.scratch] = total

    def _rebase(self, insns: list[Instruction], shift: int, vshift: int) -> list[Instruction]:
        """``shift``: what to add to this frame's own offsets (FP); ``vshift``: to the probe frame's (R9)."""
        out: list[Instruction] = []
        for insn in insns:
            if id(insn) in self.real:
                out.append(insn)
                continue
            cls = insn.opcode & 0x07
            if cls == 0x07 and insn.opcode & 0xF8 == 0xB8 and insn.src in (FP, SCRATCH_BASE):  # mov reg, fp
                moved = shift if insn.src == FP else vshift
                insn.src = SCRATCH_BASE
                out.append(insn)
                if moved:
                    out.append(add(insn.dst, moved))
                continue
            base_reg = insn.src if cls == 0x01 else insn.dst if cls in (0x02, 0x03) else None
            if base_reg not in (FP, SCRATCH_BASE):
                out.append(insn)
                continue
            off = insn.off + (shift if base_reg == FP else vshift)
            if cls == 0x01:
                insn.src = SCRATCH_BASE
            else:
                insn.dst = SCRATCH_BASE
            if -(1 << 15) <= off < (1 << 15):
                insn.off = off
                out.append(insn)
                continue
            # beyond a 16-bit offset: move the base there and back
            before = add(SCRATCH_BASE, off)
            before.label, insn.label, insn.off = insn.label, None, 0
            out.extend((before, insn, add(SCRATCH_BASE, -off)))
        return out

    def fp_ptr(self, reg, off: int, base=FP) -> None:
        self.emit(mov(reg, base), add(reg, off))

    def copy(self, dst: int, src: int, size: int, dst_base=FP, src_base=FP) -> None:
        """Copy ``size`` bytes rounded up to 8; a large copy within frames is one helper call (it
        clobbers R0-R5, as any expression may)."""
        if size >= BIG_COPY and dst_base in (FP, R9) and src_base in (FP, R9):
            self.emit(mov(R3, src_base), add(R3, src))
            self.big_copy(dst, (size + 7) & ~7, dst_base)
            return
        for i in range(0, (size + 7) & ~7, 8):
            self.emit(ldx(8, R1, src_base, src + i), stx(8, dst_base, dst + i, R1))

    def big_copy(self, dst: int, size: int, dst_base=FP) -> None:
        """``probe_read_kernel(dst, size, R3)``: from NULL it fails and zeroes ``dst``, which is how
        :meth:`clear` zeroes a large buffer."""
        self.emit(mov(R1, dst_base), add(R1, dst), mov(R2, size), call("probe_read_kernel"))

    def clear(self, off: int, size: int, base=FP) -> None:
        """Zero ``size`` bytes rounded up to 8 like :meth:`zero`, but a large buffer with one helper call
        (R0-R5 clobbered)."""
        if size >= BIG_COPY:
            self.emit(mov(R3, 0))
            self.big_copy(off, (size + 7) & ~7, base)
        else:
            self.zero(off, size, base)

    def zero(self, off: int, size: int, base=FP) -> None:
        for i in range(0, (size + 7) & ~7, 8):
            self.emit(st(8, base, off + i, 0))

    def copy_exact(self, dst: int, src: int, size: int, dst_base=FP, src_base=FP) -> None:
        """Copy exactly ``size`` bytes: tuple elements are packed as in C, a wider copy would
        overwrite a neighbour or run past the tuple."""
        if size >= BIG_COPY and dst_base in (FP, R9) and src_base in (FP, R9):
            self.emit(mov(R3, src_base), add(R3, src))
            self.big_copy(dst, size, dst_base)
            return
        pos = 0
        while pos < size:
            width = _widest(size - pos, dst + pos, src + pos)
            self.emit(ldx(width, R1, src_base, src + pos), stx(width, dst_base, dst + pos, R1))
            pos += width

    def zero_exact(self, off: int, size: int, base=FP) -> None:
        if size >= BIG_COPY and base in (FP, R9):
            self.emit(mov(R3, 0))
            self.big_copy(off, size, base)
            return
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
            self.clear(dst + n, dst_size - n, dst_base)

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
