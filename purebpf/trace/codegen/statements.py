"""Statements and the probe's program: predicate, blocks, loops (``for`` as callbacks)."""

from __future__ import annotations

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
    alu,
    call,
    exit_,
    ja,
    jmp,
    ld_func,
    ld_map_fd,
    ldx,
    mov,
    st,
    stx,
)
from purebpf.asm.deadcode import prune_unreachable
from purebpf.trace import ast
from purebpf.trace.codegen.base import (
    BIG_COPY,
    EXIT_GRACE_NS,
    REAL_ARGS,
    CodegenBase,
    CodegenError,
    Frame,
    has_callbacks,
)

# kernel probes that fire for every process: -p PID keeps only that process's hits, as bpftrace does
PID_FILTERED = ("kprobe", "kretprobe", "tracepoint", "rawtracepoint", "fentry", "fexit")


class StatementsMixin(CodegenBase):
    # -- program ---------------------------------------------------------------------

    def build(self, probe: ast.Probe) -> list[Instruction]:
        self.emit(mov(R6, R1))
        if self.scratch is not None:
            self.scratch_prologue()
        iterator = self.scope.target.provider == "iter"
        if iterator:  # the call after the last object has no object (ctx->task... NULL): nothing to show
            self.emit(ldx(8, R0, R6, 8), jmp(JmpOp.JEQ, R0, 0, "exit"))
        # END runs after exit() by design; an iteration runs to its end once started, as bpftrace's does
        if self.ctx.exit_flag and self.scope.target.provider != "END" and not iterator:
            self.exit_flag_value()
            running = self.label()
            when = self.alloc(8)
            self.emit(jmp(JmpOp.JEQ, R0, 0, running), ldx(8, R0, R0, 0), jmp(JmpOp.JEQ, R0, 0, running),
                      stx(8, FP, when, R0), call("ktime_get_ns"), ldx(8, R1, FP, when), alu(AluOp.SUB, R0, R1),
                      jmp(JmpOp.JGT, R0, EXIT_GRACE_NS, "exit"))
            self.place(running)
            self.f.sp = 0  # the key's slot is free again
        for name, vtype in self.scope.variables.items():
            if vtype.kind == "none":
                continue
            self.vars[name] = self.alloc(vtype.padded)
            self.clear(self.vars[name], vtype.padded)
        if self.scope.for_loops or has_callbacks(probe):
            self.ctx_slot = self.alloc(8)
            self.flag_slot = self.alloc(8)
            self.emit(st(8, FP, self.flag_slot, 0))
            if self.scratch is None:  # else callbacks take it from the real stack (see scratch_prologue)
                self.emit(stx(8, FP, self.ctx_slot, R6))
            for node in ast.walk(probe.body):
                if isinstance(node, ast.For) and node.map is None:
                    self.range_slots[id(node)] = self.alloc(8)
        if self.ctx.pid_filter and self.scope.target.provider in PID_FILTERED:
            self.emit(call("get_current_pid_tgid"), alu(AluOp.RSH, R0, 32),
                      jmp(JmpOp.JNE, R0, self.ctx.pid_filter, "exit"))
        done = "exit"
        if probe.pred is not None:
            self.expr(probe.pred)
            self.emit(jmp(JmpOp.JEQ, R0, 0, done))
        self.stmts(probe.body)
        self.place(done)
        self.emit(mov(R0, 0), exit_())
        if self.scratch is not None:
            self.scratch_finish([self.main, *self.subprogs])
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

    def loop_context(self, reg) -> None:
        """The context a loop callback gets: the probe's frame, or with a scratch frame this function's
        real stack (the helpers want a stack pointer; the callback finds the scratch frame itself)."""
        if self.scratch is not None:
            self.emit_real(mov(reg, FP))
        else:
            self.emit(mov(reg, self.f.vbase))

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
            if self.scratch is not None:
                self.scratch_prologue((R2, R3), ctx_reg=R4)
            else:
                self.emit(mov(R9, R4))
            # $kv is the tuple (key, value), laid out as C does: the value at its aligned offset
            value_off = self.scope.variables[s.var.name].offsets()[1]
            if info.key.field_size >= BIG_COPY:  # one helper call, then the value pointer again
                self.emit(mov(R3, R2))
                self.big_copy(var_off, info.key.field_size, R9)
                self.emit_real(ldx(8, R3, FP, REAL_ARGS + 8))
            else:
                self.copy_exact(var_off, 0, info.key.field_size, dst_base=R9, src_base=R2)
            if info.per_cpu:
                key = self.alloc(info.key_size)
                self.copy(key, 0, info.key_size, src_base=R2)
                if self.scratch is None:
                    self.emit(ldx(8, R6, R9, self.ctx_slot))
                self.percpu_read(s.map.name, info, key)
                self.emit(stx(8, R9, var_off + value_off, R0))
            else:
                if info.value.field_size >= BIG_COPY:
                    self.big_copy(var_off + value_off, info.value.field_size, R9)
                else:
                    self.copy_exact(var_off + value_off, 0, info.value.field_size, dst_base=R9, src_base=R3)
                if self.scratch is None:
                    self.emit(ldx(8, R6, R9, self.ctx_slot))
        else:
            # callback(index, ctx): $i = start + index
            if self.scratch is not None:
                self.scratch_prologue((R1,), ctx_reg=R2)
            else:
                self.emit(mov(R9, R2), ldx(8, R6, R9, self.ctx_slot))
            self.emit(ldx(8, R0, R9, self.range_slots[id(s)]), alu(AluOp.ADD, R0, R1), stx(8, R9, var_off, R0))
        sub.loops.append(None)
        self.stmts(s.body)
        self.emit(mov(R0, 0), exit_())
        self.f = parent
        # the caller: run the iteration, then leave if the body asked to
        if s.map is not None:
            self.emit(ld_map_fd(R1, s.map.name), ld_func(R2, label))
            self.loop_context(R3)
            self.emit(mov(R4, 0), call("for_each_map_elem"))
        else:
            skip = self.label()
            self.expr(s.start)
            self.emit(stx(8, self.f.vbase, self.range_slots[id(s)], R0))
            self.expr(s.end)
            self.emit(ldx(8, R1, self.f.vbase, self.range_slots[id(s)]), alu(AluOp.SUB, R0, R1),
                      jmp(JmpOp.JSLE, R0, 0, skip), mov(R1, R0), ld_func(R2, label))
            self.loop_context(R3)
            self.emit(mov(R4, 0), call("loop"))
            self.place(skip)
        after = self.label()
        self.emit(ldx(8, R1, self.f.vbase, self.flag_slot), jmp(JmpOp.JEQ, R1, 0, after))
        self.leave_probe()
        self.place(after)
        self.emit(ja(0))
