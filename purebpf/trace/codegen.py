"""Code generation: one probe's tree to eBPF instructions, directly.

Every expression leaves its value either in ``R0`` (integers) or in a stack
buffer whose frame offset :meth:`ProbeCodegen.expr` returns (strings, tuples).
``R6`` keeps the probe's context pointer for the whole program.  Temporaries
are stack slots released after each statement, so the 512-byte frame holds
variables plus one statement's scratch.
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
    AluOp,
    Instruction,
    JmpOp,
    add,
    alu,
    call,
    exit_,
    ja,
    jmp,
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
from purebpf.trace.semantic import MapInfo, ProbeScope
from purebpf.trace.types import TType

STACK_LIMIT = 512
RINGBUF = "ringbuf"
# struct pt_regs offsets on x86_64: di, si, dx, cx, r8, r9 carry arguments, ax the return value
ARG_REGS = (112, 104, 96, 88, 72, 64)
RET_REG = 80
BPF_ANY = 0

_CMP = {"==": (JmpOp.JEQ, JmpOp.JEQ), "!=": (JmpOp.JNE, JmpOp.JNE), "<": (JmpOp.JLT, JmpOp.JSLT),
        "<=": (JmpOp.JLE, JmpOp.JSLE), ">": (JmpOp.JGT, JmpOp.JSGT), ">=": (JmpOp.JGE, JmpOp.JSGE)}
_ALU = {"+": AluOp.ADD, "-": AluOp.SUB, "*": AluOp.MUL, "/": AluOp.DIV, "%": AluOp.MOD, "&": AluOp.AND,
        "|": AluOp.OR, "^": AluOp.XOR, "<<": AluOp.LSH, ">>": AluOp.RSH}


@dataclass
class Event:
    """A record the program sends to user space through the ring buffer."""
    kind: str                      # "printf", "print", "print_map", "exit", "clear", "zero"
    fmt: str = ""
    arg_types: list[TType] = field(default_factory=list)
    map_name: str = ""

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

    def event(self, ev: Event) -> int:
        self.events.append(ev)
        return len(self.events) - 1


class CodegenError(Exception):
    def __init__(self, message: str, loc: Location | None) -> None:
        super().__init__(message)
        self.loc = loc


class ProbeCodegen:
    def __init__(self, ctx: ProgramContext, scope: ProbeScope) -> None:
        self.ctx = ctx
        self.scope = scope
        self.insns: list[Instruction] = []
        self.sp = 0            # bytes of stack in use
        self.vars: dict[str, int] = {}
        self._labels = 0
        self._loops: list[tuple[str, str]] = []  # (continue label, break label)
        self._pending_label: str | None = None

    # -- plumbing -------------------------------------------------------------------

    def emit(self, *insns: Instruction) -> None:
        for insn in insns:
            if self._pending_label is not None:
                insn.label = self._pending_label
                self._pending_label = None
            self.insns.append(insn)

    def label(self) -> str:
        self._labels += 1
        return f"L{self._labels}"

    def place(self, label: str) -> None:
        """The next emitted instruction carries ``label``."""
        if self._pending_label is not None:  # two labels at one spot: chain with a no-op jump
            self.emit(ja(0))
        self._pending_label = label

    def alloc(self, size: int, loc: Location | None = None) -> int:
        size = (size + 7) & ~7
        self.sp += size
        if self.sp > STACK_LIMIT:
            raise CodegenError(f"the probe needs more than {STACK_LIMIT} bytes of BPF stack "
                               "(too many strings or tuples in one statement)", loc)
        return -self.sp

    def fp_ptr(self, reg, off: int) -> None:
        self.emit(mov(reg, FP), add(reg, off))

    def copy(self, dst: int, src: int, size: int) -> None:
        for i in range(0, (size + 7) & ~7, 8):
            self.emit(ldx(8, R1, FP, src + i), stx(8, FP, dst + i, R1))

    def zero(self, off: int, size: int) -> None:
        for i in range(0, (size + 7) & ~7, 8):
            self.emit(st(8, FP, off + i, 0))

    def copy_resized(self, dst: int, dst_size: int, src: int, src_size: int) -> None:
        n = min((dst_size + 7) & ~7, (src_size + 7) & ~7)
        self.copy(dst, src, n)
        if n < dst_size:
            self.zero(dst + n, dst_size - n)

    def load_imm(self, reg, value: int) -> None:
        if -(1 << 31) <= value < (1 << 31):
            self.emit(mov(reg, value))
        else:
            self.emit(ld_imm64(reg, value & 0xFFFFFFFFFFFFFFFF))

    # -- program ---------------------------------------------------------------------

    def build(self, probe: ast.Probe) -> list[Instruction]:
        self.emit(mov(R6, R1))
        for name, vtype in self.scope.variables.items():
            self.vars[name] = self.alloc(vtype.padded)
            self.zero(self.vars[name], vtype.padded)
        done = "exit"
        if probe.pred is not None:
            self.expr(probe.pred)
            self.emit(jmp(JmpOp.JEQ, R0, 0, done))
        self.stmts(probe.body)
        self.place(done)
        self.emit(mov(R0, 0), exit_())
        return prune_unreachable(self.insns)

    def stmts(self, stmts: list[ast.Stmt]) -> None:
        for stmt in stmts:
            mark = self.sp
            self.stmt(stmt)
            self.sp = mark

    def stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.Assign):
            if isinstance(s.target, ast.Map):
                self.assign_map(s.target, s.value)
            else:
                self.assign_var(s.target, s.value)
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
        elif isinstance(s, ast.Unroll):
            for _ in range(s.count.value):
                self.stmts(s.body)
        elif isinstance(s, ast.While):
            top, end = self.label(), self.label()
            self.place(top)
            self.expr(s.cond)
            self.emit(jmp(JmpOp.JEQ, R0, 0, end))
            self._loops.append((top, end))
            self.stmts(s.body)
            self._loops.pop()
            self.emit(ja(top))
            self.place(end)
        elif isinstance(s, ast.Jump):
            if s.kind == "return":
                self.emit(ja("exit"))
            elif not self._loops:
                raise CodegenError(f"{s.kind} used outside of a loop", s.loc)
            else:
                cont, brk = self._loops[-1]
                self.emit(ja(brk if s.kind == "break" else cont))

    # -- assignments -------------------------------------------------------------------

    def store(self, value: ast.Expr, dst: int, dst_type: TType) -> None:
        """Evaluate ``value`` into the buffer at ``dst`` laid out as ``dst_type``."""
        where = self.expr(value)
        if where is None:
            self.emit(stx(8, FP, dst, R0))
        else:
            self.copy_aggregate(dst, dst_type, where, value.type)

    def copy_aggregate(self, dst: int, dst_type: TType, src: int, src_type: TType) -> None:
        if dst_type.kind == "tuple" and src_type.kind == "tuple":
            for d_off, s_off, d_el, s_el in zip(dst_type.offsets(), src_type.offsets(), dst_type.elems,
                                                src_type.elems, strict=True):
                if d_el.kind == "tuple":
                    self.copy_aggregate(dst + d_off, d_el, src + s_off, s_el)
                else:
                    self.copy_resized(dst + d_off, d_el.padded, src + s_off, s_el.padded)
        else:
            self.copy_resized(dst, dst_type.padded, src, src_type.padded)

    def assign_var(self, target: ast.Variable, value: ast.Expr) -> None:
        vtype = self.scope.variables[target.name]
        self.store(value, self.vars[target.name], vtype)

    def map_key(self, node: ast.Map, info: MapInfo, extra: int = 0) -> int:
        """Build the key of ``node`` on the stack (plus ``extra`` trailing bytes)."""
        off = self.alloc(info.key_size)
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
        if isinstance(value, ast.Call) and value.func in ("count", "sum", "min", "max", "avg", "stats",
                                                          "hist", "lhist"):
            self.aggregate(target, info, value)
            return
        val = self.alloc(info.value_size)
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
                self.log2_bucket()
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

    def log2_bucket(self) -> None:
        """R0 (signed) -> bucket: 0 negative, 1 zero, else 2 + floor(log2(v))."""
        neg_, zero_, done = self.label(), self.label(), self.label()
        self.emit(jmp(JmpOp.JSLT, R0, 0, neg_), jmp(JmpOp.JEQ, R0, 0, zero_), mov(R1, 2))
        for shift in (32, 16, 8, 4, 2, 1):
            skip = self.label()
            self.emit(mov(R2, R0), alu(AluOp.RSH, R2, shift), jmp(JmpOp.JEQ, R2, 0, skip),
                      mov(R0, R2), add(R1, shift))
            self.place(skip)
        self.emit(mov(R0, R1), ja(done))
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
            raise CodegenError(f"{type(e).__name__} is not supported by the code generator yet", e.loc)
        return method(e)

    def e_Integer(self, e: ast.Integer) -> None:  # noqa: N802 - dispatched by node type
        self.load_imm(R0, e.value)

    def string_const(self, text: bytes, size: int) -> int:
        off = self.alloc(size)
        data = text[: size - 1].ljust((size + 7) & ~7, b"\0")
        for i in range(0, len(data), 8):
            self.emit(ld_imm64(R1, int.from_bytes(data[i:i + 8], "little")), stx(8, FP, off + i, R1))
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
            raise CodegenError(f"builtin {name} is not supported by the code generator yet", e.loc)
        return None

    def e_PositionalParameter(self, e: ast.PositionalParameter) -> None:  # noqa: N802
        self.load_imm(R0, self.param(e.index))

    def param(self, index: int) -> int:
        params = self.ctx.params
        if index == 0:
            return len(params)
        raw = params[index - 1] if index <= len(params) else "0"
        try:
            return int(raw, 0)
        except ValueError:
            return 0

    def e_Variable(self, e: ast.Variable) -> int | None:  # noqa: N802
        off = self.vars[e.name]
        if self.scope.variables[e.name].is_aggregate:
            return off
        self.emit(ldx(8, R0, FP, off))
        return None

    def e_Map(self, e: ast.Map) -> int | None:  # noqa: N802
        info = self.ctx.maps[e.name]
        key = self.map_key(e, info)
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
        if e.left.type.kind == "string":
            self.string_compare(e)
            return
        self.expr(e.left)
        left = self.spill()
        self.expr(e.right)
        self.emit(mov(R1, R0), ldx(8, R0, FP, left))
        if e.op in _CMP:
            signed = e.left.type.signed and e.right.type.signed
            op = _CMP[e.op][1 if signed else 0]
            true, done = self.label(), self.label()
            self.emit(jmp(op, R0, R1, true), mov(R0, 0), ja(done))
            self.place(true)
            self.emit(mov(R0, 1))
            self.place(done)
            self.emit(ja(0))
            return
        if e.op == ">>" and e.left.type.signed:
            self.emit(alu(AluOp.ARSH, R0, R1))
            return
        self.emit(alu(_ALU[e.op], R0, R1))

    def string_compare(self, e: ast.Binop) -> None:
        a = self.expr(e.left)
        b = self.expr(e.right)
        n = min(e.left.type.size, e.right.type.size)
        differ, same, done = self.label(), self.label(), self.label()
        for i in range(n):
            self.emit(ldx(1, R1, FP, a + i), ldx(1, R2, FP, b + i), jmp(JmpOp.JNE, R1, R2, differ),
                      jmp(JmpOp.JEQ, R1, 0, same))
        if e.left.type.size != e.right.type.size:  # the shorter one ended without NUL: compare next
            longer = a if e.left.type.size > n else b
            self.emit(ldx(1, R1, FP, longer + n), jmp(JmpOp.JNE, R1, 0, differ))
        self.place(same)
        self.emit(mov(R0, 1 if e.op == "==" else 0), ja(done))
        self.place(differ)
        self.emit(mov(R0, 0 if e.op == "==" else 1))
        self.place(done)
        self.emit(ja(0))

    def e_Unop(self, e: ast.Unop) -> None:  # noqa: N802
        if e.op in ("++", "--"):
            target = e.expr
            delta = 1 if e.op == "++" else -1
            if isinstance(target, ast.Variable):
                off = self.vars[target.name]
                self.emit(ldx(8, R0, FP, off), mov(R1, R0), add(R1, delta), stx(8, FP, off, R1))
                if not e.postfix:
                    self.emit(mov(R0, R1))
                return
            info = self.ctx.maps[target.name]
            key = self.map_key(target, info)
            old = self.alloc(8)
            self.map_lookup(target.name, key)
            missing = self.label()
            self.emit(st(8, FP, old, 0), jmp(JmpOp.JEQ, R0, 0, missing), ldx(8, R1, R0, 0), stx(8, FP, old, R1))
            self.place(missing)
            val = self.alloc(8)
            self.emit(ldx(8, R1, FP, old), add(R1, delta), stx(8, FP, val, R1))
            self.map_update(target.name, key, val)
            self.emit(ldx(8, R0, FP, val if not e.postfix else old))
            return
        self.expr(e.expr)
        if e.op == "!":
            true, done = self.label(), self.label()
            self.emit(jmp(JmpOp.JEQ, R0, 0, true), mov(R0, 0), ja(done))
            self.place(true)
            self.emit(mov(R0, 1))
            self.place(done)
            self.emit(ja(0))
        elif e.op == "~":
            self.emit(alu(AluOp.XOR, R0, -1))
        elif e.op == "-":
            self.emit(neg(R0))
        else:
            raise CodegenError(f"operator {e.op} is not supported yet", e.loc)

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
            size, signed = f.int_type
            self.emit(ldx(size if size in (1, 2, 4, 8) else 8, R0, R6, f.offset))
            if signed and size < 8:
                bits = 64 - size * 8
                self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH, R0, bits))
            return None
        where = self.expr(base)
        t = base.type
        i = int(e.field) if e.field.isdigit() else t.names.index(e.field)
        off = where + t.offsets()[i]
        if t.elems[i].is_aggregate:
            return off
        self.emit(ldx(8, R0, FP, off))
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

    def e_Cast(self, e: ast.Cast) -> None:  # noqa: N802
        self.expr(e.expr)
        t = e.type
        if t.size < 8:
            bits = 64 - t.size * 8
            self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH if t.signed else AluOp.RSH, R0, bits))

    # -- calls ---------------------------------------------------------------------------

    def e_Call(self, e: ast.Call) -> int | None:  # noqa: N802
        func = e.func
        if func == "str":
            return self.call_str(e)
        if func == "printf":
            fmt = e.args[0].value
            self.send(Event("printf", fmt, [a.type for a in e.args[1:]]), e.args[1:])
        elif func == "print":
            arg = e.args[0]
            if isinstance(arg, ast.Map) and not arg.keys:
                self.send(Event("print_map", map_name=arg.name), [])
            else:
                self.send(Event("print", arg_types=[arg.type]), [arg])
        elif func == "exit":
            self.send(Event("exit"), [])
        elif func in ("clear", "zero"):
            self.send(Event(func, map_name=e.args[0].name), [])
        elif func == "delete":
            target = e.args[0]
            key = self.map_key(target, self.ctx.maps[target.name])
            self.emit(ld_map_fd(R1, target.name))
            self.fp_ptr(R2, key)
            self.emit(call("map_delete_elem"))
        else:
            raise CodegenError(f"{func}() is not supported by the code generator yet", e.loc)
        return None

    def call_str(self, e: ast.Call) -> int:
        arg = e.args[0]
        if arg.type.kind == "string":
            return self.expr(arg)
        size = e.type.size
        self.expr(arg)
        out = self.alloc(size)
        self.zero(out, size)
        self.emit(mov(R3, R0))
        self.fp_ptr(R1, out)
        self.emit(mov(R2, size), call("probe_read_str"))
        return out

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


def compile_probe(ctx: ProgramContext, scope: ProbeScope, probe: ast.Probe,
                  diags: Diagnostics) -> list[Instruction] | None:
    """Instructions for one concrete probe, or None after reporting an error."""
    try:
        return ProbeCodegen(ctx, scope).build(probe)
    except CodegenError as exc:
        diags.error(str(exc), exc.loc)
        return None
