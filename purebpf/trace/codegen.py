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

import time
from dataclasses import dataclass, field

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R7,
    R8,
    R9,
    AluOp,
    Instruction,
    JmpOp,
    add,
    alu,
    call,
    endian,
    exit_,
    ja,
    jmp,
    ld_func,
    ld_imm64,
    ld_map_fd,
    ldx,
    mov,
    neg,
    st,
    stx,
)
from purebpf.asm.deadcode import prune_unreachable
from purebpf.trace import ast
from purebpf.trace.location import Diagnostics, Location
from purebpf.trace.semantic import AGGREGATIONS, MapInfo, ProbeScope
from purebpf.trace.types import BOOL, INT64, TType

STACK_LIMIT = 512
RINGBUF = "ringbuf"
KSTACK_MAP = "stack_k"
USTACK_MAP = "stack_u"
# struct pt_regs offsets on x86_64: di, si, dx, cx, r8, r9 carry arguments, ax the return value
ARG_REGS = (112, 104, 96, 88, 72, 64)
RET_REG = 80
BPF_ANY = 0
BPF_F_USER_STACK = 1 << 8

_CMP = {"==": (JmpOp.JEQ, JmpOp.JEQ), "!=": (JmpOp.JNE, JmpOp.JNE), "<": (JmpOp.JLT, JmpOp.JSLT),
        "<=": (JmpOp.JLE, JmpOp.JSLE), ">": (JmpOp.JGT, JmpOp.JSGT), ">=": (JmpOp.JGE, JmpOp.JSGE)}
_ALU = {"+": AluOp.ADD, "-": AluOp.SUB, "*": AluOp.MUL, "/": AluOp.DIV, "%": AluOp.MOD, "&": AluOp.AND,
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


class ProbeCodegen:
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

    def bool_from_jump(self, op: JmpOp, a, b) -> None:
        """R0 = 1 if ``a op b`` else 0."""
        true, done = self.label(), self.label()
        self.emit(jmp(op, a, b, true), mov(R0, 0), ja(done))
        self.place(true)
        self.emit(mov(R0, 1))
        self.place(done)
        self.emit(ja(0))

    # -- program ---------------------------------------------------------------------

    def build(self, probe: ast.Probe) -> list[Instruction]:
        self.emit(mov(R6, R1))
        for name, vtype in self.scope.variables.items():
            if vtype.kind == "none":
                continue
            self.vars[name] = self.alloc(vtype.padded)
            self.zero(self.vars[name], vtype.padded)
        if self.scope.for_loops or _has_callbacks(probe):
            self.ctx_slot = self.alloc(8)
            self.flag_slot = self.alloc(8)
            self.emit(stx(8, FP, self.ctx_slot, R6), st(8, FP, self.flag_slot, 0))
            for node in ast.walk(probe.body):
                if isinstance(node, ast.For) and node.map is None:
                    self.range_slots[id(node)] = self.alloc(8)
        done = "exit"
        if probe.pred is not None:
            self.expr(probe.pred)
            self.emit(jmp(JmpOp.JEQ, R0, 0, done))
        self.stmts(probe.body)
        self.place(done)
        self.emit(mov(R0, 0), exit_())
        out = prune_unreachable(self.main.insns)
        for sub in self.subprogs:
            out.extend(prune_unreachable(sub.insns))
        return out

    def stmts(self, stmts: list[ast.Stmt]) -> None:
        for stmt in stmts:
            mark = self.f.sp
            self.stmt(stmt)
            self.f.sp = mark

    def leave_probe(self) -> None:
        """Jump to the probe's end; from a callback, flag it and stop the iteration."""
        if self.f.callback:
            self.emit(st(8, R9, self.flag_slot, 1), mov(R0, 1), exit_())
        else:
            self.emit(ja("exit"))

    def stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.Assign):
            if isinstance(s.target, ast.Map):
                self.assign_map(s.target, s.value)
            elif isinstance(s.target, ast.Variable):
                self.assign_var(s.target, s.value)
            else:  # _ = expr
                self.expr(s.value)
        elif isinstance(s, ast.VarDecl):
            if s.value is not None:
                self.assign_var(s.var, s.value)
        elif isinstance(s, ast.If):
            orelse, end = self.label(), self.label()
            self.expr(s.cond)
            self.emit(jmp(JmpOp.JEQ, R0, 0, orelse))
            self.stmts(s.then)
            self.emit(ja(end))
            self.place(orelse)
            self.stmts(s.orelse)
            self.place(end)
            self.emit(ja(0))
        elif isinstance(s, ast.Unroll):
            for _ in range(s.count.value):
                self.stmts(s.body)
        elif isinstance(s, ast.While):
            top, end = self.label(), self.label()
            self.place(top)
            self.expr(s.cond)
            self.emit(jmp(JmpOp.JEQ, R0, 0, end))
            self.f.loops.append((top, end))
            self.stmts(s.body)
            self.f.loops.pop()
            self.emit(ja(top))
            self.place(end)
            self.emit(ja(0))
        elif isinstance(s, ast.For):
            self.for_loop(s)
        elif isinstance(s, ast.Jump):
            if s.kind == "return":
                self.leave_probe()
            elif not self.f.loops:
                raise CodegenError(f"{s.kind} used outside of a loop", s.loc)
            elif self.f.loops[-1] is None:  # directly in a for-loop callback
                self.emit(mov(R0, 1 if s.kind == "break" else 0), exit_())
            else:
                cont, brk = self.f.loops[-1]
                self.emit(ja(brk if s.kind == "break" else cont))

    # -- for loops (callbacks) ---------------------------------------------------------

    def for_loop(self, s: ast.For) -> None:
        label = f"for{self.label()}"
        parent = self.f
        sub = Frame(label, callback=True, nparams=4 if s.map is not None else 2)
        self.subprogs.append(sub)
        self.f = sub
        self.place(label)
        var_off = self.vars[s.var.name]
        if s.map is not None:
            info = self.ctx.maps[s.map.name]
            # callback(map, key, value, ctx): copy key and value into the loop variable first
            self.emit(mov(R9, R4))
            key_size = info.key.padded
            self.copy(var_off, 0, key_size, dst_base=R9, src_base=R2)
            if info.per_cpu:
                key = self.alloc(info.key_size)
                self.copy(key, 0, info.key_size, src_base=R2)
                self.emit(ldx(8, R6, R9, self.ctx_slot))
                self.percpu_read(s.map.name, info, key)
                self.emit(stx(8, R9, var_off + key_size, R0))
            else:
                self.copy(var_off + key_size, 0, info.value.padded, dst_base=R9, src_base=R3)
                self.emit(ldx(8, R6, R9, self.ctx_slot))
        else:
            # callback(index, ctx): $i = start + index
            self.emit(mov(R9, R2), ldx(8, R6, R9, self.ctx_slot), ldx(8, R0, R9, self.range_slots[id(s)]),
                      alu(AluOp.ADD, R0, R1), stx(8, R9, var_off, R0))
        sub.loops.append(None)
        self.stmts(s.body)
        self.emit(mov(R0, 0), exit_())
        self.f = parent
        # the caller: run the iteration, then leave if the body asked to
        if s.map is not None:
            self.emit(ld_map_fd(R1, s.map.name), ld_func(R2, label), mov(R3, self.f.vbase), mov(R4, 0),
                      call("for_each_map_elem"))
        else:
            skip = self.label()
            self.expr(s.start)
            self.emit(stx(8, self.f.vbase, self.range_slots[id(s)], R0))
            self.expr(s.end)
            self.emit(ldx(8, R1, self.f.vbase, self.range_slots[id(s)]), alu(AluOp.SUB, R0, R1),
                      jmp(JmpOp.JSLE, R0, 0, skip), mov(R1, R0), ld_func(R2, label), mov(R3, self.f.vbase),
                      mov(R4, 0), call("loop"))
            self.place(skip)
        after = self.label()
        self.emit(ldx(8, R1, self.f.vbase, self.flag_slot), jmp(JmpOp.JEQ, R1, 0, after))
        self.leave_probe()
        self.place(after)
        self.emit(ja(0))

    # -- assignments -------------------------------------------------------------------

    def store(self, value: ast.Expr, dst: int, dst_type: TType, base=FP) -> None:
        """Evaluate ``value`` into the buffer at ``base + dst`` laid out as ``dst_type``."""
        where = self.expr(value)
        if where is None:
            self.emit(stx(8, base, dst, R0))
        else:
            self.copy_aggregate(dst, dst_type, where, value.type, base)

    def copy_aggregate(self, dst: int, dst_type: TType, src: int, src_type: TType, base=FP) -> None:
        if dst_type.kind == "tuple" and src_type.kind == "tuple":
            for d_off, s_off, d_el, s_el in zip(dst_type.offsets(), src_type.offsets(), dst_type.elems,
                                                src_type.elems, strict=True):
                if d_el.kind == "tuple":
                    self.copy_aggregate(dst + d_off, d_el, src + s_off, s_el, base)
                else:
                    self.copy_resized(dst + d_off, d_el.padded, src + s_off, s_el.padded, base)
        else:
            self.copy_resized(dst, dst_type.padded, src, src_type.padded, base)

    def assign_var(self, target: ast.Variable, value: ast.Expr) -> None:
        vtype = self.scope.variables[target.name]
        self.store(value, self.vars[target.name], vtype, self.f.vbase)

    def map_key(self, node: ast.Map, info: MapInfo) -> int:
        """Build the key of ``node`` on the stack."""
        off = self.alloc(info.key_size)
        if info.key_size > (info.key.padded if info.key is not None else 8):
            self.zero(off, info.key_size)
        if info.key is None:
            self.emit(st(8, FP, off, 0))
        elif len(node.keys) == 1:
            self.store(node.keys[0], off, info.key)
        else:
            pos = 0
            for k, t in zip(node.keys, info.key.elems, strict=True):
                self.store(k, off + pos, t)
                pos += t.padded
        return off

    def map_update(self, name: str, key: int, value: int) -> None:
        self.emit(ld_map_fd(R1, name))
        self.fp_ptr(R2, key)
        self.fp_ptr(R3, value)
        self.emit(mov(R4, BPF_ANY), call("map_update_elem"))

    def map_lookup(self, name: str, key: int) -> None:
        self.emit(ld_map_fd(R1, name))
        self.fp_ptr(R2, key)
        self.emit(call("map_lookup_elem"))

    def assign_map(self, target: ast.Map, value: ast.Expr) -> None:
        info = self.ctx.maps[target.name]
        if isinstance(value, ast.Call) and value.func in AGGREGATIONS:
            self.aggregate(target, info, value)
            return
        val = self.alloc(info.value_size)
        if info.per_cpu:  # @count_map = 5: a plain store into this CPU's slot
            self.zero(val, info.value_size)
            self.expr(value)
            self.emit(stx(8, FP, val, R0))
            if info.kind in ("min", "max"):
                self.emit(st(8, FP, val + 8, 1))
        else:
            self.store(value, val, info.value)
        key = self.map_key(target, info)
        self.map_update(target.name, key, val)

    def aggregate(self, target: ast.Map, info: MapInfo, call_: ast.Call) -> None:
        func = call_.func
        arg = self.alloc(8)
        if func == "count":
            self.emit(st(8, FP, arg, 1))
        else:
            self.expr(call_.args[0])
            if func == "hist":
                self.log2_bucket(info.hist_bits)
            elif func == "lhist":
                self.linear_bucket(info)
            self.emit(stx(8, FP, arg, R0))
        key = self.map_key(target, info)
        if func in ("hist", "lhist"):
            self.emit(ldx(8, R1, FP, arg), stx(8, FP, key + info.key_size - 8, R1), st(8, FP, arg, 1))
        found, done = self.label(), self.label()
        self.map_lookup(target.name, key)
        self.emit(jmp(JmpOp.JNE, R0, 0, found))
        # first value on this CPU: write the initial value
        init = self.alloc(16)
        self.emit(ldx(8, R1, FP, arg))
        if func in ("count", "sum", "hist", "lhist"):
            self.emit(stx(8, FP, init, R1))
        elif func in ("min", "max"):
            self.emit(stx(8, FP, init, R1), st(8, FP, init + 8, 1))
        else:  # avg, stats: (count, total)
            self.emit(st(8, FP, init, 1), stx(8, FP, init + 8, R1))
        self.map_update(target.name, key, init)
        self.emit(ja(done))
        self.place(found)
        self.emit(ldx(8, R1, FP, arg))
        if func in ("count", "sum", "hist", "lhist"):
            self.emit(ldx(8, R2, R0, 0), add(R2, R1), stx(8, R0, 0, R2))
        elif func in ("min", "max"):
            keep = self.label()
            op = JmpOp.JSLE if func == "max" else JmpOp.JSGE
            self.emit(ldx(8, R2, R0, 8), jmp(JmpOp.JEQ, R2, 0, f"{keep}set"),
                      ldx(8, R2, R0, 0), jmp(op, R1, R2, keep))
            self.place(f"{keep}set")
            self.emit(stx(8, R0, 0, R1), st(8, R0, 8, 1))
            self.place(keep)
            self.emit(ja(done))
        else:
            self.emit(ldx(8, R2, R0, 0), add(R2, 1), stx(8, R0, 0, R2),
                      ldx(8, R2, R0, 8), add(R2, R1), stx(8, R0, 8, R2))
        self.place(done)
        self.emit(ja(0))

    def log2_bucket(self, bits: int = 0) -> None:
        """R0 (signed) -> bucket: 0 negative, 1 zero, then log2 buckets, each split in 2^bits."""
        neg_, zero_, done = self.label(), self.label(), self.label()
        self.emit(jmp(JmpOp.JSLT, R0, 0, neg_), jmp(JmpOp.JEQ, R0, 0, zero_), mov(R3, R0), mov(R1, 0))
        for shift in (32, 16, 8, 4, 2, 1):  # R1 = floor(log2(R0))
            skip = self.label()
            self.emit(mov(R2, R0), alu(AluOp.RSH, R2, shift), jmp(JmpOp.JEQ, R2, 0, skip),
                      mov(R0, R2), add(R1, shift))
            self.place(skip)
        self.emit(ja(0))
        if bits == 0:
            self.emit(mov(R0, R1), add(R0, 2), ja(done))
        else:
            # values below 2^bits get one bucket each; above, 2^bits sub-buckets per power of two
            small = self.label()
            self.emit(jmp(JmpOp.JLT, R1, bits, small),
                      # sub = (v >> (log2 - bits)) & (2^bits - 1)
                      mov(R2, R1), alu(AluOp.SUB, R2, bits), mov(R0, R3), alu(AluOp.RSH, R0, R2),
                      alu(AluOp.AND, R0, (1 << bits) - 1),
                      # bucket = 2 + 2^bits + (log2 - bits) * 2^bits + sub
                      mov(R2, R1), alu(AluOp.SUB, R2, bits), alu(AluOp.LSH, R2, bits), alu(AluOp.ADD, R0, R2),
                      add(R0, 1 + (1 << bits)), ja(done))
            self.place(small)
            self.emit(mov(R0, R3), add(R0, 1), ja(done))
        self.place(neg_)
        self.emit(mov(R0, 0), ja(done))
        self.place(zero_)
        self.emit(mov(R0, 1))
        self.place(done)
        self.emit(ja(0))

    def linear_bucket(self, info: MapInfo) -> None:
        lo, hi, step = info.lhist
        below, above, done = self.label(), self.label(), self.label()
        self.load_imm(R1, lo)
        self.emit(jmp(JmpOp.JSLT, R0, R1, below))
        self.load_imm(R1, hi)
        self.emit(jmp(JmpOp.JSGE, R0, R1, above))
        self.load_imm(R1, lo)
        self.emit(alu(AluOp.SUB, R0, R1), alu(AluOp.DIV, R0, step), add(R0, 1), ja(done))
        self.place(below)
        self.emit(mov(R0, 0), ja(done))
        self.place(above)
        self.emit(mov(R0, info.lhist_buckets - 1))
        self.place(done)
        self.emit(ja(0))

    # -- expressions -------------------------------------------------------------------

    def expr(self, e: ast.Expr) -> int | None:
        """Generate ``e``: None when the value is in R0, else its stack offset."""
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise CodegenError(f"{type(e).__name__} is not supported by the code generator", e.loc)
        return method(e)

    def e_Integer(self, e: ast.Integer) -> None:  # noqa: N802 - dispatched by node type
        self.load_imm(R0, e.value)

    def e_Identifier(self, e: ast.Identifier) -> None:  # noqa: N802
        if e.name in ("true", "false"):
            self.emit(mov(R0, 1 if e.name == "true" else 0))
            return
        enum = self.ctx.enum_values.get(e.name)
        if enum is not None:
            self.load_imm(R0, enum[0])
            return
        self.load_imm(R0, int(self.ctx.defines[e.name], 0))

    def string_const(self, text: bytes, size: int) -> int:
        off = self.alloc(size)
        data = text[: size - 1].ljust((size + 7) & ~7, b"\0")
        for i in range(0, len(data), 8):
            word = int.from_bytes(data[i:i + 8], "little")
            if word == 0:
                self.emit(st(8, FP, off + i, 0))
            else:
                self.emit(ld_imm64(R1, word), stx(8, FP, off + i, R1))
        return off

    def e_String(self, e: ast.String) -> int:  # noqa: N802
        return self.string_const(e.value.encode(), e.type.size)

    def e_Builtin(self, e: ast.Builtin) -> int | None:  # noqa: N802
        name = e.name
        if name in ("pid", "tid"):
            self.emit(call("get_current_pid_tgid"))
            self.emit(alu(AluOp.RSH, R0, 32) if name == "pid" else mov(R0, R0, bits=32))
        elif name in ("uid", "gid"):
            self.emit(call("get_current_uid_gid"))
            self.emit(mov(R0, R0, bits=32) if name == "uid" else alu(AluOp.RSH, R0, 32))
        elif name == "nsecs":
            self.emit(call("ktime_get_ns"))
        elif name == "elapsed":
            self.emit(call("ktime_get_ns"), ld_imm64(R1, self.ctx.start_ns), alu(AluOp.SUB, R0, R1))
        elif name == "cpu":
            self.emit(call("get_smp_processor_id"))
        elif name == "rand":
            self.emit(call("get_prandom_u32"))
        elif name == "curtask":
            self.emit(call("get_current_task"))
        elif name == "cgroup":
            self.emit(call("get_current_cgroup_id"))
        elif name == "numaid":
            self.emit(call("get_numa_node_id"))
        elif name == "jiffies":
            self.emit(call("jiffies64"))
        elif name == "ncpus":
            self.load_imm(R0, self.ctx.ncpus)
        elif name == "cpid":
            self.load_imm(R0, self.ctx.cpid)
        elif name == "usermode":
            # BEGIN/END run from user space through BPF_PROG_TEST_RUN; probes elsewhere see kernel mode
            self.emit(mov(R0, 1 if self.scope.target.provider in ("BEGIN", "END", "uprobe", "uretprobe") else 0))
        elif name == "ctx":
            self.emit(mov(R0, R6))
        elif name in ("kstack", "ustack"):
            self.stack_id(name, e.type)
        elif name == "comm":
            off = self.alloc(16)
            self.zero(off, 16)
            self.fp_ptr(R1, off)
            self.emit(mov(R2, 16), call("get_current_comm"))
            return off
        elif name in ("probe", "func"):
            text = self.scope.target.name if name == "probe" else self.scope.target.func
            return self.string_const(text.encode(), e.type.size)
        elif name.startswith("arg"):
            self.emit(ldx(8, R0, R6, ARG_REGS[int(name[3:])]))
        elif name == "retval":
            self.emit(ldx(8, R0, R6, RET_REG))
        else:
            raise CodegenError(f"builtin {name} is not supported by the code generator", e.loc)
        return None

    def stack_id(self, kind: str, t: TType) -> None:
        name = KSTACK_MAP if kind == "kstack" else USTACK_MAP
        self.ctx.stack_maps.add(name)
        self.emit(mov(R1, R6), ld_map_fd(R2, name), mov(R3, BPF_F_USER_STACK if kind == "ustack" else 0),
                  call("get_stackid"))
        if kind == "ustack":  # the pid goes with the id: user stacks are symbolised per process
            self.emit(mov(R7, R0), call("get_current_pid_tgid"), alu(AluOp.RSH, R0, 32), alu(AluOp.LSH, R0, 32),
                      mov(R1, R7), mov(R1, R1, bits=32), alu(AluOp.OR, R0, R1))

    def e_PositionalParameter(self, e: ast.PositionalParameter) -> int | None:  # noqa: N802
        value = self.param(e.index)
        if isinstance(value, str):
            return self.string_const(value.encode(), e.type.size)
        self.load_imm(R0, value)
        return None

    def param(self, index: int) -> int | str:
        params = self.ctx.params
        if index == 0:
            return len(params)
        if index > len(params):
            return 0
        return parse_param(params[index - 1])

    def e_Variable(self, e: ast.Variable) -> int | None:  # noqa: N802
        off = self.vars[e.name]
        vtype = self.scope.variables[e.name]
        if vtype.is_aggregate:
            if not self.f.callback:
                return off
            local = self.alloc(vtype.padded)  # a callback copies the variable into its own frame
            self.copy(local, off, vtype.padded, src_base=R9)
            return local
        self.emit(ldx(8, R0, self.f.vbase, off))
        return None

    def e_Map(self, e: ast.Map) -> int | None:  # noqa: N802
        info = self.ctx.maps[e.name]
        key = self.map_key(e, info)
        if info.per_cpu:
            self.percpu_read(e.name, info, key)
            return None
        self.map_lookup(e.name, key)
        if info.value.is_aggregate:
            out = self.alloc(info.value.padded)
            self.zero(out, info.value.padded)
            done = self.label()
            self.emit(jmp(JmpOp.JEQ, R0, 0, done))
            for i in range(0, info.value.padded, 8):
                self.emit(ldx(8, R1, R0, i), stx(8, FP, out + i, R1))
            self.place(done)
            self.emit(ja(0))
            return out
        done = self.label()
        self.emit(jmp(JmpOp.JEQ, R0, 0, done), ldx(8, R0, R0, 0))
        self.place(done)
        self.emit(ja(0))
        return None

    def percpu_read(self, name: str, info: MapInfo, key: int) -> None:
        """R0 = a per-CPU aggregation's value, combined over every possible CPU
        (``bpf_map_lookup_percpu_elem``, unrolled: the CPU count is known)."""
        kind = info.kind
        acc = self.alloc(16)   # value (or total), count (or "seen" flag)
        self.emit(st(8, FP, acc, 0), st(8, FP, acc + 8, 0))
        if kind in ("min", "max"):
            self.emit(mov(R8, 0))
        for cpu in range(self.ctx.ncpus):
            skip = self.label()
            self.emit(ld_map_fd(R1, name))
            self.fp_ptr(R2, key)
            self.emit(mov(R3, cpu), call("map_lookup_percpu_elem"), jmp(JmpOp.JEQ, R0, 0, skip))
            if kind in ("count", "sum"):
                self.emit(ldx(8, R1, R0, 0), ldx(8, R2, FP, acc), alu(AluOp.ADD, R2, R1), stx(8, FP, acc, R2))
            elif kind in ("avg", "stats"):
                self.emit(ldx(8, R1, R0, 0), ldx(8, R2, FP, acc + 8), alu(AluOp.ADD, R2, R1), stx(8, FP, acc + 8, R2),
                          ldx(8, R1, R0, 8), ldx(8, R2, FP, acc), alu(AluOp.ADD, R2, R1), stx(8, FP, acc, R2))
            else:
                take = self.label()
                better = JmpOp.JSLT if kind == "min" else JmpOp.JSGT
                self.emit(ldx(8, R1, R0, 8), jmp(JmpOp.JEQ, R1, 0, skip), ldx(8, R1, R0, 0),
                          jmp(JmpOp.JEQ, R8, 0, take), ldx(8, R2, FP, acc), jmp(better, R1, R2, take), ja(skip))
                self.place(take)
                self.emit(stx(8, FP, acc, R1), mov(R8, 1))
            self.place(skip)
            self.emit(ja(0))
        self.emit(ldx(8, R0, FP, acc))
        if kind in ("avg", "stats"):
            self.emit(ldx(8, R1, FP, acc + 8))
            self.signed_divide("/")

    def spill(self) -> int:
        off = self.alloc(8)
        self.emit(stx(8, FP, off, R0))
        return off

    def e_Binop(self, e: ast.Binop) -> None:  # noqa: N802
        if e.op in ("&&", "||"):
            # && jumps to "decided" (false) on a zero operand, || (true) on a non-zero one
            decided, end = self.label(), self.label()
            test = JmpOp.JEQ if e.op == "&&" else JmpOp.JNE
            for side in (e.left, e.right):
                self.expr(side)
                self.emit(jmp(test, R0, 0, decided))
            self.emit(mov(R0, 1 if e.op == "&&" else 0), ja(end))
            self.place(decided)
            self.emit(mov(R0, 0 if e.op == "&&" else 1))
            self.place(end)
            self.emit(ja(0))
            return
        if e.left.type.kind in ("string", "buffer"):
            self.bytes_compare(e)
            return
        self.expr(e.left)
        left = self.spill()
        self.expr(e.right)
        self.emit(mov(R1, R0), ldx(8, R0, FP, left))
        lt, rt = e.left.type, e.right.type
        if e.op in _CMP:
            signed = lt.signed and rt.signed and lt.kind == "int" and rt.kind == "int"
            self.bool_from_jump(_CMP[e.op][1 if signed else 0], R0, R1)
            return
        if lt.kind == "pointer" and rt.kind == "pointer":  # difference in elements
            self.emit(alu(AluOp.SUB, R0, R1))
            scale = _pointee_size(lt)
            if scale > 1:
                self.emit(alu(AluOp.DIV, R0, scale))
            return
        if lt.kind == "pointer" or rt.kind == "pointer":
            ptr, scale = (lt, R1) if lt.kind == "pointer" else (rt, R0)
            size = _pointee_size(ptr)
            if size > 1:
                self.emit(alu(AluOp.MUL, scale, size))
        if e.op == ">>" and lt.signed:
            self.emit(alu(AluOp.ARSH, R0, R1))
            return
        if e.op in ("/", "%") and lt.signed and rt.signed:
            self.signed_divide(e.op)
            return
        self.emit(alu(_ALU[e.op], R0, R1))

    def signed_divide(self, op: str) -> None:
        """C semantics (truncate toward zero) with unsigned BPF division: divide magnitudes, fix signs."""
        self.emit(mov(R2, 0), mov(R3, 0))
        pos_a, pos_b, done = self.label(), self.label(), self.label()
        self.emit(jmp(JmpOp.JSGE, R0, 0, pos_a), neg(R0), mov(R2, 1))
        self.place(pos_a)
        self.emit(jmp(JmpOp.JSGE, R1, 0, pos_b), neg(R1), mov(R3, 1))
        self.place(pos_b)
        self.emit(alu(_ALU[op], R0, R1))
        if op == "/":
            self.emit(alu(AluOp.XOR, R2, R3))
        self.emit(jmp(JmpOp.JEQ, R2, 0, done), neg(R0))
        self.place(done)
        self.emit(ja(0))

    def bytes_compare(self, e: ast.Binop) -> None:
        a = self.expr(e.left)
        b = self.expr(e.right)
        lt, rt = e.left.type, e.right.type
        if lt.kind == "buffer":  # length word, then the bytes: compare all of it
            n = min(lt.size, rt.size)
            differ, done = self.label(), self.label()
            for i in range(0, n, 8):
                self.emit(ldx(8, R1, FP, a + i), ldx(8, R2, FP, b + i), jmp(JmpOp.JNE, R1, R2, differ))
            self.emit(mov(R0, 1 if e.op == "==" else 0), ja(done))
            self.place(differ)
            self.emit(mov(R0, 0 if e.op == "==" else 1))
            self.place(done)
            self.emit(ja(0))
            return
        n = min(lt.size, rt.size)
        differ, same, done = self.label(), self.label(), self.label()
        for i in range(n):
            self.emit(ldx(1, R1, FP, a + i), ldx(1, R2, FP, b + i), jmp(JmpOp.JNE, R1, R2, differ),
                      jmp(JmpOp.JEQ, R1, 0, same))
        if lt.size != rt.size:  # the shorter one ended without NUL: compare next
            longer = a if lt.size > n else b
            self.emit(ldx(1, R1, FP, longer + n), jmp(JmpOp.JNE, R1, 0, differ))
        self.place(same)
        self.emit(mov(R0, 1 if e.op == "==" else 0), ja(done))
        self.place(differ)
        self.emit(mov(R0, 0 if e.op == "==" else 1))
        self.place(done)
        self.emit(ja(0))

    def e_Unop(self, e: ast.Unop) -> int | None:  # noqa: N802
        if e.op in ("++", "--"):
            target = e.expr
            delta = 1 if e.op == "++" else -1
            if target.type is not None and target.type.kind == "pointer":
                delta *= _pointee_size(target.type)
            if isinstance(target, ast.Variable):
                off, base = self.vars[target.name], self.f.vbase
                self.emit(ldx(8, R0, base, off), mov(R1, R0), add(R1, delta), stx(8, base, off, R1))
                if not e.postfix:
                    self.emit(mov(R0, R1))
                return None
            info = self.ctx.maps[target.name]
            key = self.map_key(target, info)
            old = self.alloc(8)
            self.map_lookup(target.name, key)
            missing = self.label()
            self.emit(st(8, FP, old, 0), jmp(JmpOp.JEQ, R0, 0, missing), ldx(8, R1, R0, 0), stx(8, FP, old, R1))
            self.place(missing)
            val = self.alloc(16)
            self.emit(ldx(8, R1, FP, old), add(R1, delta), stx(8, FP, val, R1), st(8, FP, val + 8, 1))
            self.map_update(target.name, key, val)
            self.emit(ldx(8, R0, FP, val if not e.postfix else old))
            return None
        if e.op == "&":
            return self.address_of(e)
        self.expr(e.expr)
        if e.op == "!":
            self.bool_from_jump(JmpOp.JEQ, R0, 0)
        elif e.op == "~":
            self.emit(alu(AluOp.XOR, R0, -1))
        elif e.op == "-":
            self.emit(neg(R0))
        elif e.op == "*":
            self.deref(e.type)
        else:
            raise CodegenError(f"operator {e.op} is not supported", e.loc)
        return None

    def address_of(self, e: ast.Unop) -> None:
        var = e.expr
        if self.f.callback or not isinstance(var, ast.Variable):
            raise CodegenError("& of a variable is not supported inside for loops", e.loc)
        # BPF cannot expose stack addresses as integers: the variable's value is read back by '*'
        raise CodegenError("taking the address of a variable is not supported by purebpf trace "
                           "(BPF programs cannot expose stack addresses)", e.loc)

    def deref(self, t: TType) -> None:
        """R0 = *(type *)R0, read with probe_read (the pointer may be anywhere)."""
        tmp = self.alloc(8)
        self.emit(st(8, FP, tmp, 0), mov(R3, R0))
        self.fp_ptr(R1, tmp)
        size = t.size if t.size in (1, 2, 4, 8) else 8
        self.emit(mov(R2, size), call("probe_read"), ldx(size, R0, FP, tmp))
        if t.signed and size < 8:
            bits = 64 - size * 8
            self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH, R0, bits))

    def e_Ternary(self, e: ast.Ternary) -> int | None:  # noqa: N802
        orelse, done = self.label(), self.label()
        aggregate = e.type.is_aggregate
        out = self.alloc(e.type.padded) if aggregate else 0
        self.expr(e.cond)
        if e.left is None:  # cond ?: right
            self.emit(jmp(JmpOp.JNE, R0, 0, done))
        else:
            self.emit(jmp(JmpOp.JEQ, R0, 0, orelse))
            if aggregate:
                self.store(e.left, out, e.type)
            else:
                self.expr(e.left)
            self.emit(ja(done))
        self.place(orelse)
        if aggregate:
            self.store(e.right, out, e.type)
        else:
            self.expr(e.right)
        self.place(done)
        self.emit(ja(0))
        return out if aggregate else None

    def e_IfExpr(self, e: ast.IfExpr) -> int | None:  # noqa: N802
        orelse, done = self.label(), self.label()
        aggregate = e.type.is_aggregate
        out = self.alloc(e.type.padded) if aggregate else 0
        self.expr(e.cond)
        self.emit(jmp(JmpOp.JEQ, R0, 0, orelse))
        self.block_into(e.then, out, e.type, aggregate)
        self.emit(ja(done))
        self.place(orelse)
        if e.orelse is not None:
            self.block_into(e.orelse, out, e.type, aggregate)
        self.place(done)
        self.emit(ja(0))
        return out if aggregate else None

    def block_into(self, block: ast.BlockExpr, out: int, t: TType, aggregate: bool) -> None:
        self.stmts(block.stmts)
        if block.value is None:
            return
        if aggregate:
            self.store(block.value, out, t)
        else:
            self.expr(block.value)

    def e_BlockExpr(self, e: ast.BlockExpr) -> int | None:  # noqa: N802
        aggregate = e.type.is_aggregate
        out = self.alloc(e.type.padded) if aggregate else 0
        self.block_into(e, out, e.type, aggregate)
        return out if aggregate else None

    def e_Tuple(self, e: ast.Tuple) -> int:  # noqa: N802
        out = self.alloc(e.type.size)
        for el, off, t in zip(e.elems, e.type.offsets(), e.type.elems, strict=True):
            self.store(el, out + off, t)
        return out

    def e_FieldAccess(self, e: ast.FieldAccess) -> int | None:  # noqa: N802
        base = e.expr.expr if isinstance(e.expr, ast.Unop) and e.expr.op == "*" else e.expr
        if isinstance(base, ast.Builtin) and base.name == "args":
            f = self.scope.fields[e.field]
            if e.type.kind == "string":
                return self.read_string_field(f, e.type.size)
            if e.type.kind == "array":
                out = self.alloc(e.type.padded)
                self.zero(out, e.type.padded)
                self.fp_ptr(R1, out)
                self.emit(mov(R2, e.type.size), mov(R3, R6), add(R3, f.offset), call("probe_read_kernel"))
                return out
            size, signed = f.int_type
            self.emit(ldx(size if size in (1, 2, 4, 8) else 8, R0, R6, f.offset))
            if signed and size < 8:
                bits = 64 - size * 8
                self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH, R0, bits))
            return None
        where = self.expr(base)
        t = base.type
        i = int(e.field) if e.field.isdigit() and not t.names else t.names.index(e.field)
        off = where + t.offsets()[i]
        if t.elems[i].is_aggregate:
            return off
        self.emit(ldx(8, R0, FP, off))
        return None

    def e_ArrayAccess(self, e: ast.ArrayAccess) -> int | None:  # noqa: N802
        t = e.expr.type
        if t.kind == "tuple":
            where = self.expr(e.expr)
            i = e.index.value if isinstance(e.index, ast.Integer) else 0
            off = where + t.offsets()[i]
            if t.elems[i].is_aggregate:
                return off
            self.emit(ldx(8, R0, FP, off))
            return None
        if t.kind == "pointer":
            self.expr(e.expr)
            base = self.spill()
            self.expr(e.index)
            size = e.type.size if e.type.kind != "pointer" else 8
            self.emit(alu(AluOp.MUL, R0, size), ldx(8, R1, FP, base), alu(AluOp.ADD, R0, R1))
            self.deref(e.type if e.type.kind != "pointer" else TType("int", 8, False))
            return None
        # strings and arrays on the stack: a bounds-checked variable-offset read
        where = self.expr(e.expr)
        elem = e.type
        size = elem.size if elem.size in (1, 2, 4, 8) else 1
        count = t.size // size if t.kind == "array" else t.size
        self.expr(e.index)
        out_of_range, done = self.label(), self.label()
        self.emit(jmp(JmpOp.JGE, R0, count, out_of_range))
        if size > 1:
            self.emit(alu(AluOp.MUL, R0, size))
        self.emit(mov(R1, FP), add(R1, where), alu(AluOp.ADD, R1, R0), ldx(size, R0, R1, 0))
        if elem.signed and size < 8:
            bits = 64 - size * 8
            self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH, R0, bits))
        self.emit(ja(done))
        self.place(out_of_range)
        self.emit(mov(R0, 0))
        self.place(done)
        self.emit(ja(0))
        return None

    def read_string_field(self, f, size: int) -> int:
        """A ``char[N]`` or ``__data_loc char[]`` tracepoint field, copied to the stack."""
        out = self.alloc(size)
        self.zero(out, size)
        self.fp_ptr(R1, out)
        self.emit(mov(R2, size))
        if f.data_loc:  # u32: length << 16 | offset from the start of the record
            self.emit(ldx(4, R3, R6, f.offset), alu(AluOp.AND, R3, 0xFFFF), add(R3, R6),
                      call("probe_read_kernel_str"))
        else:
            self.emit(mov(R3, R6), add(R3, f.offset), call("probe_read_kernel_str"))
        return out

    def e_Cast(self, e: ast.Cast) -> int | None:  # noqa: N802
        t = e.type
        if t.kind == "array":
            where = self.expr(e.expr)
            if where is None:
                where = self.spill()
            out = self.alloc(t.padded)
            self.copy_resized(out, t.padded, where, e.expr.type.padded)
            return out
        self.expr(e.expr)
        if t.kind == "bool":
            self.bool_from_jump(JmpOp.JNE, R0, 0)
        elif t.kind == "int" and t.size < 8:
            bits = 64 - t.size * 8
            self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH if t.signed else AluOp.RSH, R0, bits))
        return None

    def e_Sizeof(self, e: ast.Sizeof) -> None:  # noqa: N802
        self.load_imm(R0, e.size)

    # -- calls ---------------------------------------------------------------------------

    def e_Call(self, e: ast.Call) -> int | None:  # noqa: N802
        method = getattr(self, "c_" + e.func, None)
        if method is None:
            raise CodegenError(f"{e.func}() is not supported by the code generator", e.loc)
        return method(e)

    def c_printf(self, e: ast.Call) -> None:
        self.send(Event(e.func, e.args[0].value, [a.type for a in e.args[1:]], loc=e.loc), e.args[1:])

    c_system = c_cat = c_errorf = c_warnf = c_printf

    def c_print(self, e: ast.Call) -> None:
        arg = e.args[0]
        if isinstance(arg, ast.Map) and not arg.keys:
            top = e.args[1].value if len(e.args) > 1 and isinstance(e.args[1], ast.Integer) else 0
            div = e.args[2].value if len(e.args) > 2 and isinstance(e.args[2], ast.Integer) else 0
            self.send(Event("print_map", map_name=arg.name, top=top, div=div), [])
        else:
            self.send(Event("print", arg_types=[arg.type]), [arg])

    def c_exit(self, e: ast.Call) -> None:
        self.send(Event("exit", arg_types=[INT64] if e.args else []), e.args)
        self.leave_probe()

    def c_clear(self, e: ast.Call) -> None:
        self.send(Event(e.func, map_name=e.args[0].name), [])

    c_zero = c_clear

    def c_time(self, e: ast.Call) -> None:
        self.send(Event("time", e.args[0].value if e.args else "%H:%M:%S\n"), [])

    def c_delete(self, e: ast.Call) -> None:
        target = e.args[0]
        key = self.map_key(target, self.ctx.maps[target.name])
        self.emit(ld_map_fd(R1, target.name))
        self.fp_ptr(R2, key)
        self.emit(call("map_delete_elem"))
        self.bool_from_jump(JmpOp.JEQ, R0, 0)

    def c_has_key(self, e: ast.Call) -> None:
        target = e.args[0]
        key = self.map_key(target, self.ctx.maps[target.name])
        self.map_lookup(target.name, key)
        self.bool_from_jump(JmpOp.JNE, R0, 0)

    def c_len(self, e: ast.Call) -> None:
        arg = e.args[0]
        if arg.type is not None and arg.type.kind == "array":
            self.load_imm(R0, arg.type.count)
            return
        # for_each_map_elem returns how many elements it visited; the callback just goes on
        label = f"len{self.label()}"
        self.subprogs.append(Frame(label, callback=True, nparams=4, insns=[mov(R0, 0), exit_()]))
        self.subprogs[-1].insns[0].label = label
        self.emit(ld_map_fd(R1, arg.name), ld_func(R2, label), mov(R3, 0), mov(R4, 0), call("for_each_map_elem"))

    def c_str(self, e: ast.Call) -> int:
        arg = e.args[0]
        size = e.type.size
        if arg.type.kind == "string":
            where = self.expr(arg)
            if size >= arg.type.size:
                return where
            out = self.alloc(size)
            self.copy_resized(out, size, where, size)
            self.emit(st(1, FP, out + size - 1, 0))
            return out
        self.expr(arg)
        self.emit(mov(R7, R0))
        if len(e.args) == 2 and not isinstance(e.args[1], ast.Integer):
            self.expr(e.args[1])  # a run-time length: read at most that many bytes (plus NUL)
            self.emit(add(R0, 1), mov(R8, R0))
        out = self.alloc(size)
        self.zero(out, size)
        self.fp_ptr(R1, out)
        if len(e.args) == 2 and not isinstance(e.args[1], ast.Integer):
            skip = self.label()
            self.emit(mov(R2, R8), jmp(JmpOp.JLE, R2, size, skip), mov(R2, size))
            self.place(skip)
            self.emit(ja(0))
        else:
            self.emit(mov(R2, size))
        self.emit(mov(R3, R7), call("probe_read_str"))
        return out

    def c_strlen(self, e: ast.Call) -> None:
        where = self.expr(e.args[0])
        size = e.args[0].type.size
        done = self.label()
        for i in range(size):
            self.emit(mov(R0, i), ldx(1, R1, FP, where + i), jmp(JmpOp.JEQ, R1, 0, done))
        self.emit(mov(R0, size))
        self.place(done)
        self.emit(ja(0))

    def c_strncmp(self, e: ast.Call) -> None:
        a, b = self.expr(e.args[0]), self.expr(e.args[1])
        n = min(e.args[2].value, e.args[0].type.size, e.args[1].type.size)
        differ, same, done = self.label(), self.label(), self.label()
        for i in range(n):
            self.emit(ldx(1, R1, FP, a + i), ldx(1, R2, FP, b + i), jmp(JmpOp.JNE, R1, R2, differ),
                      jmp(JmpOp.JEQ, R1, 0, same))
        self.place(same)
        self.emit(mov(R0, 0), ja(done))
        self.place(differ)
        self.emit(mov(R0, 1))
        self.place(done)
        self.emit(ja(0))

    def c_strcontains(self, e: ast.Call) -> None:
        hay, needle = e.args
        h = self.expr(hay)
        literal = needle.value.encode().split(b"\0")[0] if isinstance(needle, ast.String) else None
        n = self.expr(needle) if literal is None else None
        hs, ns = hay.type.size, needle.type.size
        found, absent, done = self.label(), self.label(), self.label()
        if literal == b"":
            self.emit(ja(found))
        for i in range(hs):
            next_i = self.label()
            for j in range(len(literal) if literal is not None else ns):
                if literal is None:
                    self.emit(ldx(1, R2, FP, n + j), jmp(JmpOp.JEQ, R2, 0, found))
                if i + j >= hs:
                    self.emit(ja(absent))
                    break
                self.emit(ldx(1, R1, FP, h + i + j))
                if j == 0:
                    self.emit(jmp(JmpOp.JEQ, R1, 0, absent))
                if literal is None:
                    self.emit(jmp(JmpOp.JNE, R1, R2, next_i))
                else:
                    self.emit(jmp(JmpOp.JNE, R1, literal[j], next_i))
            if literal is not None:
                self.emit(ja(found))
            else:
                self.emit(ja(found) if ns <= hs - i else ja(absent))
            self.place(next_i)
            self.emit(ja(0))
        self.place(absent)
        self.emit(mov(R0, 0), ja(done))
        self.place(found)
        self.emit(mov(R0, 1))
        self.place(done)
        self.emit(ja(0))

    def c_bswap(self, e: ast.Call) -> None:
        self.expr(e.args[0])
        width = e.type.size * 8
        if width > 8:
            self.emit(endian(R0, width, big=True))

    def c_nsecs(self, e: ast.Call) -> None:
        clock = e.args[0].name if e.args else "monotonic"
        self.emit(call("ktime_get_boot_ns" if clock == "boot" else "ktime_get_ns"))

    def c_buf(self, e: ast.Call) -> int:
        arg = e.args[0]
        length = e.type.size - 8
        out = self.alloc(e.type.padded)
        self.zero(out, e.type.padded)
        if arg.type.kind in ("string", "array"):
            where = self.expr(arg)
            self.copy(out + 8, where, min(arg.type.padded, (length + 7) & ~7))
            self.emit(st(8, FP, out, min(length, arg.type.size)))
            self.mask_tail(out + 8, length)
            return out
        self.expr(arg)
        self.emit(mov(R3, R0))
        self.fp_ptr(R1, out + 8)
        self.emit(mov(R2, length), call("probe_read"), st(8, FP, out, length))
        return out

    def mask_tail(self, off: int, length: int) -> None:
        """Zero the bytes after ``length`` in the last 8-byte word (a copy moves whole words)."""
        rem = length % 8
        if rem:
            word = off + length - rem
            self.emit(ldx(8, R1, FP, word), ld_imm64(R2, (1 << (rem * 8)) - 1), alu(AluOp.AND, R1, R2),
                      stx(8, FP, word, R1))

    def c_ksym(self, e: ast.Call) -> None:
        self.expr(e.args[0])

    c_usym = c_ksym

    def c_kaddr(self, e: ast.Call) -> None:
        from purebpf.symbols import kernel_symbols

        self.load_imm(R0, kernel_symbols().address(e.args[0].value) or 0)

    def c_cgroupid(self, e: ast.Call) -> None:
        import os

        path = e.args[0].value
        try:
            self.load_imm(R0, os.stat(path).st_ino)
        except OSError:
            raise CodegenError(f"cgroupid(): cannot read cgroup {path}", e.loc) from None

    def c_strftime(self, e: ast.Call) -> None:
        self.expr(e.args[1])

    def c_strerror(self, e: ast.Call) -> None:
        self.expr(e.args[0])

    def c_kstack(self, e: ast.Call) -> None:
        self.stack_id("kstack", e.type)

    def c_ustack(self, e: ast.Call) -> None:
        self.stack_id("ustack", e.type)

    def c_signal(self, e: ast.Call) -> None:
        arg = e.args[0]
        if isinstance(arg, ast.String):
            import signal as _signal
            name = arg.value if arg.value.startswith("SIG") else "SIG" + arg.value
            self.emit(mov(R1, int(getattr(_signal, name))))
        else:
            self.expr(arg)
            self.emit(mov(R1, R0))
        self.emit(call("send_signal"))

    def c_ntop(self, e: ast.Call) -> int:
        out = self.alloc(24)
        self.zero(out, 24)
        addr = e.args[-1]
        if len(e.args) == 2:
            self.expr(e.args[0])
            self.emit(stx(8, FP, out, R0))
        family = 2 if addr.type.kind == "int" or addr.type.size == 4 else 10
        if len(e.args) == 1:
            self.emit(st(8, FP, out, family))
        where = self.expr(addr)
        if where is None:
            self.emit(stx(4, FP, out + 8, R0))
        else:
            self.copy(out + 8, where, min(addr.type.padded, 16))
            self.mask_tail(out + 8, min(addr.type.size, 16))
        return out

    def c_pton(self, e: ast.Call) -> int:
        import ipaddress

        return self.string_const(ipaddress.ip_address(e.args[0].value).packed + b"\0", e.type.size + 1)

    def c_getopt(self, e: ast.Call) -> int | None:
        name = e.args[0].value
        given = self.ctx.named.get(name)
        t = e.type
        if t.kind == "string":
            value = given if given is not None else e.args[1].value
            return self.string_const(value.encode(), max(len(value.encode()) + 1, t.size))
        if t.kind == "bool":
            if given is None:
                value = len(e.args) > 1 and isinstance(e.args[1], ast.Identifier) and e.args[1].name == "true"
            else:
                value = given.lower() not in ("false", "0", "no")
            self.emit(mov(R0, int(value)))
            return None
        default = e.args[1]
        value = int(given, 0) if given is not None else (default.value if isinstance(default, ast.Integer)
                                                          else -default.expr.value)
        self.load_imm(R0, value)
        return None

    def send(self, ev: Event, args: list[ast.Expr]) -> None:
        """Emit an event record (u64 id, then each argument padded to 8 bytes)."""
        ident = self.ctx.event(ev)
        buf = self.alloc(ev.size)
        self.load_imm(R0, ident)
        self.emit(stx(8, FP, buf, R0))
        pos = 8
        for arg, t in zip(args, ev.arg_types, strict=True):
            self.store(arg, buf + pos, t)
            pos += t.padded
        self.emit(ld_map_fd(R1, RINGBUF))
        self.fp_ptr(R2, buf)
        self.emit(mov(R3, ev.size), mov(R4, 0), call("ringbuf_output"))


def parse_param(raw: str) -> int | str:
    """A positional parameter: an integer in C notation (``0x1f``, ``0755``, ``12``) or else text."""
    text = raw.strip()
    try:
        if len(text) > 1 and text.startswith("0") and text[1:].isdigit():
            return int(text, 8)
        return int(text, 0)
    except ValueError:
        return raw


def _pointee_size(t: TType) -> int:
    if t.kind != "pointer" or not t.elems:
        return 1
    inner = t.elems[0]
    if inner.kind == "pointer":
        return 8
    return max(inner.size, 1) if inner.kind in ("int", "bool") else 1


def _has_callbacks(probe: ast.Probe) -> bool:
    return any(isinstance(n, ast.For) for n in ast.walk(probe.body))


@dataclass
class FuncInfo:
    """One BPF function of a probe (the main one first), for the BTF func_info the kernel wants with callbacks."""
    label: str
    nparams: int


def compile_probe(ctx: ProgramContext, scope: ProbeScope, probe: ast.Probe,
                  diags: Diagnostics) -> tuple[list[Instruction], list[FuncInfo]] | None:
    """Instructions for one concrete probe and its functions, or None after reporting an error."""
    gen = ProbeCodegen(ctx, scope)
    try:
        insns = gen.build(probe)
    except CodegenError as exc:
        diags.error(str(exc), exc.loc)
        return None
    return insns, [FuncInfo(f.label, f.nparams) for f in gen.subprogs]


__all__ = ["BOOL", "RINGBUF", "FuncInfo", "CodegenError", "Event", "ProgramContext", "compile_probe"]
