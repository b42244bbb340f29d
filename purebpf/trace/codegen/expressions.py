"""Expressions: every ``e_<Node>`` method leaves a value in R0 or returns its stack offset."""

from __future__ import annotations

import functools
import os

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
    neg,
    st,
    stx,
)
from purebpf.trace import ast
from purebpf.trace.codegen.base import (
    ALU_OPS,
    ARG_REGS,
    BIG_COPY,
    BPF_F_USER_STACK,
    CMP_OPS,
    KSTACK_MAP,
    PROBE_NAMES_MAP,
    RET_REG,
    RINGBUF,
    USTACK_MAP,
    CodegenBase,
    CodegenError,
    Event,
    parse_param,
    pointee_size,
)
from purebpf.trace.semantic import MapInfo
from purebpf.trace.structs import MAX_STRUCT_COPY
from purebpf.trace.types import INT64, TType

INIT_PID_NS_INODE = 0xEFFFFFFC  # the kernel's fixed inode number of the initial pid namespace


@functools.cache
def current_pid_namespace() -> tuple[int, int] | None:
    """(device as the kernel encodes it, inode) of this process's pid namespace; None for the initial one."""
    st_ = os.stat("/proc/self/ns/pid")
    if st_.st_ino == INIT_PID_NS_INODE:
        return None
    return (os.major(st_.st_dev) << 20) | os.minor(st_.st_dev), st_.st_ino


class ExpressionsMixin(CodegenBase):
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
        elif e.name in self.ctx.defines:
            self.load_imm(R0, int(self.ctx.defines[e.name], 0))
        else:  # a kernel enumerator
            self.load_imm(R0, e.value)

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

    def multi_name(self, func: bool, size: int) -> int:
        """``probe`` or ``func`` of a program attached to several functions at once: the link's cookie for
        the function that fired indexes PROBE_NAMES_MAP; the string is cut to ``size`` as a constant is."""
        off, key = self.alloc(size), self.alloc(8)
        found, done = self.label(), self.label()
        self.emit(mov(R1, R6), call("get_attach_cookie"), stx(8, FP, key, R0), ld_map_fd(R1, PROBE_NAMES_MAP),
                  mov(R2, FP), add(R2, key), call("map_lookup_elem"), jmp(JmpOp.JNE, R0, 0, found))
        self.clear(off, size)
        self.emit(ja(done))
        self.place(found)
        slot = self.ctx.names_slot
        n = min(size, slot)
        self.copy(off, slot * func, n, src_base=R0)
        if n < size:
            self.clear(off + ((n + 7) & ~7), size - ((n + 7) & ~7))
        else:
            self.emit(st(1, FP, off + size - 1, 0))
        self.place(done)
        self.emit(ja(0))
        return off

    def e_String(self, e: ast.String) -> int:  # noqa: N802
        return self.string_const(e.value.encode(), e.type.size)

    def e_Builtin(self, e: ast.Builtin) -> int | None:  # noqa: N802
        name = e.name
        if name in ("pid", "tid"):
            self.pid_tgid("curr_ns")  # as bpftrace: ids as seen from the tracer's own pid namespace
            self.emit(alu(AluOp.RSH, R0, 32) if name == "pid" else mov(R0, R0, bits=32))
        elif name in ("uid", "gid", "username"):  # username: the uid, named in user space
            self.emit(call("get_current_uid_gid"))
            self.emit(alu(AluOp.RSH, R0, 32) if name == "gid" else mov(R0, R0, bits=32))
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
            user = ("BEGIN", "END", "uprobe", "uretprobe", "usdt")
            self.emit(mov(R0, 1 if self.scope.target.provider in user else 0))
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
        elif name == "probetype":
            from purebpf.trace.semantic import PROBE_TYPES
            provider = self.scope.target.provider
            return self.string_const(PROBE_TYPES.get(provider, provider).encode(), e.type.size)
        elif name in ("probe", "func") and self.scope.multi:
            return self.multi_name(name == "func", e.type.size)
        elif name in ("probe", "func"):
            text = self.scope.target.name if name == "probe" else self.scope.target.func
            return self.string_const(text.encode(), e.type.size)
        elif name == "args" and e.type.kind == "tuple" and self.scope.typed_args is not None:
            out = self.alloc(e.type.padded)  # the typed parameters as a record, each from its context slot
            self.zero(out, e.type.padded)
            for (offset, t), off in zip(self.scope.typed_args.args.values(), e.type.offsets(), strict=True):
                self.emit(ldx(8, R0, R6, offset))
                self.narrow(t)
                self.emit(stx(t.field_size, FP, out + off, R0))
            return out
        elif name.startswith("arg") and self.scope.target.provider == "usdt":
            from purebpf.trace.codegen.usdt_args import emit_usdt_arg
            emit_usdt_arg(self, int(name[3:]), e.loc)
        elif name.startswith("arg") and self.scope.target.provider == "rawtracepoint":
            self.emit(ldx(8, R0, R6, 8 * int(name[3:])))  # the context is the tracepoint's arguments, a u64 each
        elif name.startswith("arg"):
            self.emit(ldx(8, R0, R6, ARG_REGS[int(name[3:])]))
        elif name == "retval" and self.scope.typed_args is not None and self.scope.typed_args.retval:
            offset, t = self.scope.typed_args.retval
            self.emit(ldx(8, R0, R6, offset))
            self.narrow(t)
        elif name == "retval" and self.scope.target.target.startswith("bpf:"):  # fexit on a BPF program's function
            # the trampoline knows where the return value is (the kernel may model the function as taking
            # 5 u64 arguments when its BTF prototype does not match what the verifier saw): ask it
            out = self.alloc(8)
            self.emit(st(8, FP, out, 0), mov(R1, R6))
            self.fp_ptr(R2, out)
            self.emit(call("get_func_ret"), ldx(8, R0, FP, out))
        elif name == "retval":
            self.emit(ldx(8, R0, R6, RET_REG))
        else:
            raise CodegenError(f"builtin {name} is not supported by the code generator", e.loc)
        return None

    def pid_tgid(self, namespace: str) -> None:
        """R0 = tgid << 32 | pid, seen from the initial pid namespace ("init") or from this process's
        ("curr_ns": bpf_get_ns_current_pid_tgid with the namespace's device and inode; the cheaper
        plain helper when this process runs in the initial namespace anyway)."""
        ns = current_pid_namespace()
        if namespace == "init" or ns is None:
            self.emit(call("get_current_pid_tgid"))
            return
        out = self.alloc(8)
        self.emit(st(8, FP, out, 0))
        self.load_imm(R1, ns[0])
        self.load_imm(R2, ns[1])
        self.fp_ptr(R3, out)
        self.emit(mov(R4, 8), call("get_ns_current_pid_tgid"), ldx(8, R0, FP, out))  # {u32 pid; u32 tgid}

    def c_pid(self, e: ast.Call) -> None:
        self.pid_tgid(e.args[0].name)
        self.emit(alu(AluOp.RSH, R0, 32) if e.func == "pid" else mov(R0, R0, bits=32))

    c_tid = c_pid

    def stack_id(self, kind: str, t: TType) -> None:
        name = KSTACK_MAP if kind == "kstack" else USTACK_MAP
        self.ctx.stack_maps.add(name)
        self.emit(mov(R1, R6), ld_map_fd(R2, name), mov(R3, BPF_F_USER_STACK if kind == "ustack" else 0),
                  call("get_stackid"))
        if kind == "ustack":  # the pid goes with the id: user stacks are symbolised per process
            # the pid as this tracer's /proc numbers it, which may be a pid namespace's own /proc
            self.emit(mov(R7, R0))
            self.pid_tgid("curr_ns")
            self.emit(alu(AluOp.RSH, R0, 32), alu(AluOp.LSH, R0, 32),
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
        if self.ctx.helper_checks and self.scope.target.provider != "iter":  # -k: say when a read finds nothing
            self.helper_error("map_lookup_elem", e.loc, JmpOp.JNE)
        if info.value.is_aggregate:
            out = self.alloc(info.value.padded)
            if info.value.padded >= BIG_COPY:  # one helper call: from NULL (no element) it zeroes ``out``
                self.emit(mov(R3, R0))
                self.big_copy(out, info.value.padded)
                return out
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
        if e.left.type.kind in ("string", "buffer", "array"):
            self.bytes_compare(e)
            return
        self.expr(e.left)
        left = self.spill()
        self.expr(e.right)
        self.emit(mov(R1, R0), ldx(8, R0, FP, left))
        lt, rt = e.left.type, e.right.type
        if e.op in CMP_OPS:
            signed = lt.signed and rt.signed and lt.kind == "int" and rt.kind == "int"
            self.bool_from_jump(CMP_OPS[e.op][1 if signed else 0], R0, R1)
            return
        if lt.kind == "pointer" and rt.kind == "pointer":  # difference in elements
            self.emit(alu(AluOp.SUB, R0, R1))
            scale = pointee_size(lt)
            if scale > 1:
                self.emit(alu(AluOp.DIV, R0, scale))
            return
        if lt.kind == "pointer" or rt.kind == "pointer":
            ptr, scale = (lt, R1) if lt.kind == "pointer" else (rt, R0)
            size = pointee_size(ptr)
            if size > 1:
                self.emit(alu(AluOp.MUL, scale, size))
        if e.op == ">>" and lt.signed:
            self.emit(alu(AluOp.ARSH, R0, R1))
            return
        done = None
        if e.op in ("/", "%") and not (isinstance(e.right, ast.Integer) and e.right.value):
            done = self.divide_by_zero_guard(e)
        if e.op in ("/", "%") and lt.signed and rt.signed:
            self.signed_divide(e.op)
        else:
            self.emit(alu(ALU_OPS[e.op], R0, R1))
        if done is not None:
            self.place(done)
            self.emit(ja(0))

    def divide_by_zero_guard(self, e: ast.Binop) -> str:
        """With R1 the divisor: when it is 0, warn (as bpftrace does, at run time) and make the
        result 1, jumping to the label returned; otherwise fall through to the division."""
        ok, done = self.label(), self.label()
        left = self.spill()
        right = self.alloc(8)
        self.emit(stx(8, FP, right, R1), jmp(JmpOp.JNE, R1, 0, ok))
        self.send(Event("warnf", "Divide or modulo by 0 detected. This can lead to unexpected results. "
                                 "1 is being used as the result.", loc=e.loc), [])
        self.emit(mov(R0, 1), ja(done))
        self.place(ok)
        self.emit(ldx(8, R0, FP, left), ldx(8, R1, FP, right))
        return done

    def signed_divide(self, op: str) -> None:
        """C semantics (truncate toward zero) with unsigned BPF division: divide magnitudes, fix signs."""
        self.emit(mov(R2, 0), mov(R3, 0))
        pos_a, pos_b, done = self.label(), self.label(), self.label()
        self.emit(jmp(JmpOp.JSGE, R0, 0, pos_a), neg(R0), mov(R2, 1))
        self.place(pos_a)
        self.emit(jmp(JmpOp.JSGE, R1, 0, pos_b), neg(R1), mov(R3, 1))
        self.place(pos_b)
        self.emit(alu(ALU_OPS[op], R0, R1))
        if op == "/":
            self.emit(alu(AluOp.XOR, R2, R3))
        self.emit(jmp(JmpOp.JEQ, R2, 0, done), neg(R0))
        self.place(done)
        self.emit(ja(0))

    def bytes_compare(self, e: ast.Binop) -> None:
        a = self.string_operand(e.left)
        b = self.string_operand(e.right)
        lt, rt = e.left.type, e.right.type
        if lt.kind in ("buffer", "array"):  # a length word then the bytes, or elements: compare all of it
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
        self.compare_bytes(a, b, n, differ, same)
        if lt.size != rt.size:  # the shorter one ended without NUL: compare next
            longer = a if lt.size > n else b
            self.emit(ldx(1, R1, FP, longer + n), jmp(JmpOp.JNE, R1, 0, differ))
        equal = int(e.op == "==")
        self.r0_from(done, (same, equal), (differ, 1 - equal))

    def e_Unop(self, e: ast.Unop) -> int | None:  # noqa: N802
        if e.op in ("++", "--"):
            target = e.expr
            delta = 1 if e.op == "++" else -1
            if target.type is not None and target.type.kind == "pointer":
                delta *= pointee_size(target.type)
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
        elif e.op == "*" and e.type.is_aggregate:  # structs, and tuples or strings behind &$x
            return self.read_memory(e.type, loc=e.loc)
        elif e.op == "*":
            self.deref(e.type)
        else:
            raise CodegenError(f"operator {e.op} is not supported", e.loc)
        return None

    def address_of(self, e: ast.Unop) -> None:
        """``&$x``: the variable's slot in the probe's frame (a stack pointer: root may keep it,
        print it or read through it with ``*``, which uses probe_read like any pointer)."""
        if self.f.callback:  # the verifier refuses pointers to the probe's frame stored from a callback
            raise CodegenError("& of a variable is not supported inside for loops", e.loc)
        self.emit(mov(R0, self.f.vbase), add(R0, self.vars[e.expr.name]))

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
        out = self.alloc(e.type.padded)
        self.clear(out, e.type.padded)  # padding is zero: tuples are compared byte for byte as map keys
        for el, off, t in zip(e.elems, e.type.offsets(), e.type.elems, strict=True):
            self.put_field(self.expr(el), el.type, out + off, t)
        return out

    def e_FieldAccess(self, e: ast.FieldAccess) -> int | None:  # noqa: N802
        member = getattr(e, "member", None)
        if member is not None:
            self.struct_address(e.expr)
            if member.offset:
                self.emit(add(R0, member.offset))
            return self.read_memory(e.type, member.bit_offset, member.bit_size, e.loc)
        base = e.expr.expr if isinstance(e.expr, ast.Unop) and e.expr.op == "*" else e.expr
        if isinstance(base, ast.Builtin) and base.name == "args" and hasattr(e, "ctx_offset"):
            self.emit(ldx(8, R0, R6, e.ctx_offset))  # typed arguments: one u64 slot each
            self.narrow(e.type)
            return None
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
        return self.tuple_element(t.elems[i], where + t.offsets()[i])

    def tuple_element(self, t: TType, off: int) -> int | None:
        """A tuple element as :meth:`expr` gives values: a scalar in R0, anything else in a buffer of
        its own (elements are packed: the bytes after one belong to the next)."""
        if not t.is_aggregate:
            self.load_field(t, off)
            return None
        if off % 8 == 0 and t.size == t.padded:
            return off
        out = self.alloc(t.padded)
        self.copy_exact(out, off, t.size)
        self.zero_exact(out + t.size, t.padded - t.size)
        return out

    def narrow(self, t: TType) -> None:
        """R0 holds a u64 slot: keep only the low bytes of a narrower integer, sign-extended if signed."""
        if t.kind == "int" and t.size < 8:
            bits = 64 - t.size * 8
            self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH if t.signed else AluOp.RSH, R0, bits))

    def struct_address(self, e: ast.Expr) -> None:
        """R0 = the address of struct value ``e`` (or of what pointer ``e`` points to), without copying it:
        ``a->b.c.d`` reads only ``d``, however large ``a`` is."""
        if e.type.kind == "pointer":
            self.expr(e)
        elif isinstance(e, ast.Unop) and e.op == "*":
            self.expr(e.expr)
        elif isinstance(e, ast.FieldAccess) and getattr(e, "member", None) is not None:
            self.struct_address(e.expr)
            if e.member.offset:
                self.emit(add(R0, e.member.offset))
        elif isinstance(e, ast.ArrayAccess) and e.expr.type.kind == "pointer":
            self.element_address(e)
        elif isinstance(e, ast.ArrayAccess) and e.expr.type.kind == "array" and self.in_memory(e.expr):
            self.array_element_address(e)
        else:  # a struct copied to the stack (a variable, a map value)
            where = self.expr(e)
            self.fp_ptr(R0, where)

    def read_memory(self, t: TType, bit_offset: int = 0, bit_size: int = 0, loc=None) -> int | None:
        """Read a ``t`` at address R0: scalars into R0, anything else onto the stack.  Kernel types are
        not always in kernel memory (a syscall's ``struct timespec *`` points into the caller); the
        tracer targets x86_64, where ``probe_read`` picks user or kernel memory by the address."""
        if not t.is_aggregate:
            size = t.size if t.size in (1, 2, 4, 8) else 8
            tmp = self.alloc(8)
            self.emit(st(8, FP, tmp, 0), mov(R3, R0))
            self.fp_ptr(R1, tmp)
            self.emit(mov(R2, size), call("probe_read"))
            self.check_read(loc)
            self.emit(ldx(size, R0, FP, tmp))
            bits = size * 8
            if bit_size:  # a bitfield reads as its bits, zero-extended whatever its type (as bpftrace does)
                if bit_offset:
                    self.emit(alu(AluOp.RSH, R0, bit_offset))
                if bit_size < 64:
                    self.emit(alu(AluOp.LSH, R0, 64 - bit_size), alu(AluOp.RSH, R0, 64 - bit_size))
            elif bits < 64 and (t.signed and t.kind == "int"):
                self.emit(alu(AluOp.LSH, R0, 64 - bits), alu(AluOp.ARSH, R0, 64 - bits))
            return None
        if t.size > MAX_STRUCT_COPY:
            hint = "its elements (a[i])" if t.kind == "array" else "its members (p->field)"
            raise CodegenError(f"{t} is {t.size} bytes, too large to copy onto the BPF stack: "
                               f"read {hint} instead", loc)
        out = self.alloc(t.padded)
        self.zero(out, t.padded)
        self.emit(mov(R3, R0))
        self.fp_ptr(R1, out)
        self.emit(mov(R2, t.size), call("probe_read"))
        self.check_read(loc)
        return out

    def check_read(self, loc) -> None:
        """``-k``: report a failed read (R0 < 0, the helper's error) with where the program reads."""
        if not self.ctx.helper_checks or loc is None or self.scope.target.provider == "iter":
            return
        user = self.scope.target.provider in ("uprobe", "uretprobe", "usdt")
        self.helper_error("probe_read_user" if user else "probe_read_kernel", loc, JmpOp.JSGE)

    def helper_error(self, helper: str, loc, ok: JmpOp) -> None:
        """Send a ``helper_error`` event carrying R0 unless ``ok`` (R0 against 0) holds; R0 is kept."""
        fine = self.label()
        self.emit(jmp(ok, R0, 0, fine))
        ev = Event("helper_error", helper, [INT64], loc=loc)
        ident = self.ctx.event(ev)
        buf = self.alloc(ev.size)
        self.emit(stx(8, FP, buf + 8, R0))
        self.load_imm(R0, ident)
        self.emit(stx(8, FP, buf, R0), ld_map_fd(R1, RINGBUF))
        self.fp_ptr(R2, buf)
        self.emit(mov(R3, ev.size), mov(R4, 0), call("ringbuf_output"), ldx(8, R0, FP, buf + 8))
        self.place(fine)
        self.emit(ja(0))

    def element_address(self, e: ast.ArrayAccess) -> None:
        """R0 = &ptr[index]."""
        self.expr(e.expr)
        base = self.spill()
        self.expr(e.index)
        size = e.type.size if e.type.kind != "pointer" else 8
        self.emit(alu(AluOp.MUL, R0, size), ldx(8, R1, FP, base), alu(AluOp.ADD, R0, R1))

    def in_memory(self, e: ast.Expr) -> bool:
        """``e`` is read in place (a struct member, an element of an array member, what a pointer points
        to): its address is known without copying it, so ``p->w[3].t.b[1]`` reads only that element."""
        if isinstance(e, ast.FieldAccess):
            return getattr(e, "member", None) is not None
        if isinstance(e, ast.ArrayAccess):
            kind = e.expr.type.kind
            return kind == "pointer" or kind == "array" and self.in_memory(e.expr)
        return isinstance(e, ast.Unop) and e.op == "*"

    def array_element_address(self, e: ast.ArrayAccess) -> None:
        """R0 = &array[index] for an array read in place.  A constant index was checked against the
        array's size by the analysis; a variable one past the end warns at run time and is read anyway,
        as bpftrace does (a zero-length array, C's flexible array member, is never checked)."""
        t = e.expr.type
        size = t.elems[0].size
        if isinstance(e.index, ast.Integer):
            self.struct_address(e.expr)
            if e.index.value:
                self.emit(add(R0, e.index.value * size))
            return
        self.struct_address(e.expr)
        base = self.spill()
        self.expr(e.index)
        if t.count:
            index = self.spill()
            inside = self.label()
            self.emit(jmp(JmpOp.JLT, R0, t.count, inside))
            self.array_bounds_warning(e)
            self.place(inside)
            self.emit(ldx(8, R0, FP, index))
        self.emit(alu(AluOp.MUL, R0, size), ldx(8, R1, FP, base), alu(AluOp.ADD, R0, R1))

    def array_bounds_warning(self, e: ast.ArrayAccess) -> None:
        self.send(Event("warnf", "Array access out of bounds. This can lead to unexpected results.", loc=e.loc),
                  [])

    def e_ArrayAccess(self, e: ast.ArrayAccess) -> int | None:  # noqa: N802
        t = e.expr.type
        if t.kind == "tuple":
            where = self.expr(e.expr)
            i = e.index.value if isinstance(e.index, ast.Integer) else 0
            return self.tuple_element(t.elems[i], where + t.offsets()[i])
        if t.kind == "pointer":
            self.element_address(e)
            if e.type.kind == "struct":
                return self.read_memory(e.type, loc=e.loc)
            self.deref(e.type if e.type.kind != "pointer" else TType("int", 8, False))
            return None
        if t.kind == "array" and self.in_memory(e.expr):
            self.array_element_address(e)
            return self.read_memory(e.type, loc=e.loc)
        return self.stack_element(e)

    def stack_element(self, e: ast.ArrayAccess) -> int | None:
        """An element of a string or array held on the stack (a variable, a map value, a cast): a constant
        index is an offset; a variable one is bounds-checked (the verifier wants it), past the end the
        element is zero (an array also warns)."""
        t, elem = e.expr.type, e.type
        where = self.expr(e.expr)
        size = elem.size if t.kind == "array" else 1
        count = t.count if t.kind == "array" else t.size
        if isinstance(e.index, ast.Integer) and 0 <= e.index.value < count:
            return self.tuple_element(elem, where + e.index.value * size)
        out = self.alloc(elem.padded) if elem.is_aggregate else 0
        if out:
            self.zero(out, elem.padded)
        self.expr(e.index)
        out_of_range, done = self.label(), self.label()
        self.emit(jmp(JmpOp.JGE, R0, count, out_of_range))
        if size > 1:
            self.emit(alu(AluOp.MUL, R0, size))
        self.emit(mov(R3, FP), add(R3, where), alu(AluOp.ADD, R3, R0))
        if out:
            self.fp_ptr(R1, out)
            self.emit(mov(R2, size), call("probe_read"))
        else:
            self.emit(ldx(size, R0, R3, 0))
            if elem.signed and size < 8:
                bits = 64 - size * 8
                self.emit(alu(AluOp.LSH, R0, bits), alu(AluOp.ARSH, R0, bits))
        self.emit(ja(done))
        self.place(out_of_range)
        if t.kind == "array":
            self.array_bounds_warning(e)
        if not out:
            self.emit(mov(R0, 0))
        self.place(done)
        self.emit(ja(0))
        return out or None

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

    def e_Offsetof(self, e: ast.Offsetof) -> None:  # noqa: N802
        self.load_imm(R0, e.size)
