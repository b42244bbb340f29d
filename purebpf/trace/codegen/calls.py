"""Function calls (``c_<name>`` methods) and the events they send to user space."""

from __future__ import annotations

import re

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    AluOp,
    JmpOp,
    add,
    alu,
    call,
    call_kfunc,
    endian,
    exit_,
    ja,
    jmp,
    ld_btf_id,
    ld_func,
    ld_imm64,
    ld_map_fd,
    ldx,
    mov,
    st,
    stx,
)
from purebpf.trace import ast
from purebpf.trace.codegen.base import (
    BPF_F_USER_STACK,
    JOIN_ARG_SIZE,
    JOIN_ARGS,
    RINGBUF,
    SKB_MAP,
    SKB_META_SIZE,
    STACK_SCRATCH_FRAMES,
    STACK_SCRATCH_MAP,
    TAIL_STRING_MIN,
    CodegenBase,
    CodegenError,
    Event,
    Frame,
)
from purebpf.trace.types import INT64, MACADDR

_LENGTHLESS_INT = re.compile(r"%([-+ #0]*\d*(?:\.\d+)?)([diuxX])")


def trace_printk_format(fmt: str) -> str:
    """The kernel's printk reads ``%d`` as a 32-bit int; every value here is 64-bit, so say ``%lld``."""
    return _LENGTHLESS_INT.sub(lambda m: f"%{m.group(1)}ll{m.group(2)}", fmt.replace("%%", "\0")).replace("\0", "%%")


class CallsMixin(CodegenBase):
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
        when = self.alloc(8)  # the first exit() stamps the time: probes stop EXIT_GRACE_NS after it
        self.emit(call("ktime_get_ns"), stx(8, FP, when, R0))
        self.exit_flag_value()
        is_set = self.label()
        self.emit(jmp(JmpOp.JEQ, R0, 0, is_set), ldx(8, R1, R0, 0), jmp(JmpOp.JNE, R1, 0, is_set),
                  ldx(8, R1, FP, when), stx(8, R0, 0, R1))
        self.place(is_set)
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
        if arg.type is not None and arg.type.kind in ("kstack", "ustack"):
            self.stack_frames(arg.type)
            return
        # for_each_map_elem returns how many elements it visited; the callback just goes on
        label = f"len{self.label()}"
        self.subprogs.append(Frame(label, callback=True, nparams=4, insns=[mov(R0, 0), exit_()]))
        self.subprogs[-1].insns[0].label = label
        self.emit(ld_map_fd(R1, arg.name), ld_func(R2, label), mov(R3, 0), mov(R4, 0), call("for_each_map_elem"))

    def stack_frames(self, t) -> None:
        """R0 = how many frames a stack of type ``t`` has.  A stack value is an id into a stack-trace map,
        which programs cannot read, so the stack is taken again (it is the same anywhere in one probe run)
        with bpf_get_stack into per-CPU scratch memory; the helper returns the bytes it wrote."""
        depth = min(int(t.extra.rpartition(":")[2] or 127), STACK_SCRATCH_FRAMES)
        self.ctx.stack_maps.add(STACK_SCRATCH_MAP)
        key = self.alloc(8)
        self.emit(st(8, FP, key, 0))
        self.fp_ptr(R2, key)
        done = self.label()
        self.emit(ld_map_fd(R1, STACK_SCRATCH_MAP), call("map_lookup_elem"), jmp(JmpOp.JEQ, R0, 0, done),
                  mov(R2, R0), mov(R1, R6), mov(R3, 8 * depth),
                  mov(R4, BPF_F_USER_STACK if t.kind == "ustack" else 0), call("get_stack"),
                  jmp(JmpOp.JSGE, R0, 0, done), mov(R0, 0))
        self.place(done)
        self.emit(alu(AluOp.RSH, R0, 3))

    def c_str(self, e: ast.Call, into: int | None = None) -> int:
        """The string at a new slot, its bytes after the NUL zero (map keys compare every byte); or read
        ``into`` a slot of ``e``'s type, R0 = its length with the NUL, the bytes after it left as they were
        (for readers that stop at the NUL: records, comparisons, strlen)."""
        arg = e.args[0]
        size = e.type.size
        if arg.type.kind == "string" and into is None:
            where = self.expr(arg)
            if size >= arg.type.size:
                return where
            out = self.alloc(size)
            self.copy_resized(out, size, where, size)
            self.emit(st(1, FP, out + size - 1, 0))
            return out
        if arg.type.kind == "string":  # into a slot: a copy up to the NUL, at most ``size`` bytes
            where = self.expr(arg)
            self.fp_ptr(R1, into)
            self.emit(mov(R2, size), mov(R3, FP), add(R3, where), call("probe_read_kernel_str"))
            return into
        self.expr(arg)
        self.emit(mov(R7, R0))
        if len(e.args) == 2 and not isinstance(e.args[1], ast.Integer):
            self.expr(e.args[1])  # a run-time length: read at most that many bytes (the NUL included)
            self.emit(mov(R8, R0))
        out = into
        if out is None:
            out = self.alloc(size)
            self.clear(out, size)
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

    def c_path(self, e: ast.Call) -> int:
        """bpf_d_path(path, buf, size) into a zeroed string.  The helper's error (a path longer than the
        buffer) is not checked: the kernel leaves the path's tail in the buffer then, as bpftrace shows it.
        The buffer is cleared before the pointer is computed: a large clear is a helper call, and the
        pointer must reach the call in a register (a copy in scratch memory loses its BTF type)."""
        size = e.type.size
        out = self.alloc(size, e.loc)
        self.clear(out, size)
        skip = self.label()
        self.btf_struct_address(e.args[0], skip)
        self.emit(mov(R1, R0))
        self.fp_ptr(R2, out)
        self.emit(mov(R3, size), call("d_path"))
        self.place(skip)
        self.emit(ja(0))
        return out

    def btf_struct_address(self, e: ast.Expr, null: str) -> None:
        """R0 = the address of the struct ``e`` designates (``e`` a struct or a pointer to one) as the verifier
        types it by BTF: members are reached by direct loads and offsets, never by probe_read (whose result
        is a plain number); a NULL pointer on the way jumps to ``null``."""
        if e.type.kind == "pointer":
            self.btf_pointer(e, null)
        elif isinstance(e, ast.Unop) and e.op == "*":
            self.btf_pointer(e.expr, null)
        elif isinstance(e, ast.FieldAccess) and getattr(e, "member", None) is not None:
            self.btf_struct_address(e.expr, null)
            if e.member.offset:
                self.emit(add(R0, e.member.offset))
        else:
            raise CodegenError(f"cannot take the BTF-typed address of this {e.type}", e.loc)

    def btf_pointer(self, e: ast.Expr, null: str) -> None:
        """R0 = the pointer ``e`` (a typed argument, ``ctx``, a member of a struct reached so), not NULL."""
        if isinstance(e, ast.FieldAccess) and getattr(e, "member", None) is not None:
            self.btf_struct_address(e.expr, null)
            self.emit(ldx(8, R0, R0, e.member.offset))
        else:
            self.expr(e)
        self.emit(jmp(JmpOp.JEQ, R0, 0, null))

    def c_bswap(self, e: ast.Call) -> None:
        self.expr(e.args[0])
        width = e.type.size * 8
        if width > 8:
            self.emit(endian(R0, width, big=True))

    def c_nsecs(self, e: ast.Call) -> None:
        clock = e.args[0].name if e.args else "monotonic"
        if clock == "sw_tai":  # TAI from boot time plus the TAI - boot offset read now (bpftrace's sw_tai)
            import time

            self.emit(call("ktime_get_boot_ns"))
            self.load_imm(R1, time.clock_gettime_ns(time.CLOCK_TAI) - time.clock_gettime_ns(time.CLOCK_BOOTTIME))
            self.emit(alu(AluOp.ADD, R0, R1))
            return
        helper = {"boot": "ktime_get_boot_ns", "tai": "ktime_get_tai_ns"}.get(clock, "ktime_get_ns")
        self.emit(call(helper))

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

    def c_reg(self, e: ast.Call) -> None:
        from purebpf.trace.codegen.base import PT_REGS
        self.emit(ldx(8, R0, R6, PT_REGS[e.args[0].value]))

    def c_ksym(self, e: ast.Call) -> None:
        self.expr(e.args[0])

    c_cgroup_path = c_ksym

    def c_usym(self, e: ast.Call) -> int:
        """(address, pid): user space names the address from that process's mappings, as bpftrace does."""
        out = self.alloc(16)
        self.expr(e.args[0])
        self.emit(stx(8, FP, out, R0))
        self.pid_tgid("curr_ns")  # the pid this tracer's /proc knows (its pid namespace's)
        self.emit(alu(AluOp.RSH, R0, 32), stx(8, FP, out + 8, R0))
        return out

    def c_comm(self, e: ast.Call) -> int:
        """comm(pid): task = bpf_task_from_pid(pid); copy task->comm; bpf_task_release(task)."""
        if not e.args:
            return self.e_Builtin(ast.Builtin(e.loc, "comm"))
        from_pid, release, comm_off = e.btf_id
        out = self.alloc(16)
        self.zero(out, 16)
        self.expr(e.args[0])
        done = self.label()
        self.emit(mov(R1, R0), call_kfunc(from_pid), jmp(JmpOp.JEQ, R0, 0, done))
        for i in (0, 8):
            self.emit(ldx(8, R1, R0, comm_off + i), stx(8, FP, out + i, R1))
        self.emit(mov(R1, R0), call_kfunc(release))
        self.place(done)
        self.emit(ja(0))
        return out

    def c_percpu_kaddr(self, e: ast.Call) -> None:
        if len(e.args) == 1:
            self.emit(ld_btf_id(R1, e.btf_id), call("this_cpu_ptr"))
            return
        self.expr(e.args[1])
        self.emit(mov(R2, R0), ld_btf_id(R1, e.btf_id), call("per_cpu_ptr"))
        checked = self.label()  # NULL for a CPU that does not exist; the verifier wants the test before any use
        self.emit(jmp(JmpOp.JNE, R0, 0, checked), mov(R0, 0))
        self.place(checked)
        self.emit(ja(0))

    def c_kaddr(self, e: ast.Call) -> None:
        from purebpf.symbols import kernel_symbols

        self.load_imm(R0, kernel_symbols().address(e.args[0].value) or 0)

    def c_uptr(self, e: ast.Call) -> int | None:
        return self.expr(e.args[0])

    c_kptr = c_uptr

    def c_uaddr(self, e: ast.Call) -> None:
        address, probe_address = e.btf_id
        if probe_address is None:  # a fixed-position binary: the link-time address is the run-time one
            self.load_imm(R0, address)
            return
        # position-independent: the probe's run-time address minus its link-time one is the load bias
        self.emit(mov(R1, R6), call("get_func_ip"))
        self.load_imm(R1, address - probe_address)
        self.emit(alu(AluOp.ADD, R0, R1))

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

    c_signal_name = c_strerror

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

    def c_macaddr(self, e: ast.Call) -> int:
        arg = e.args[0]
        where = self.expr(arg)
        if arg.type.kind == "pointer":  # R0 holds the address of the six bytes
            return self.read_memory(MACADDR)
        out = self.alloc(8)
        self.copy(out, where, 8)  # an array of 6 bytes or more fills at least one 8-byte slot
        self.mask_tail(out, 6)
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

    def c_socket_cookie(self, e: ast.Call) -> None:
        self.expr(e.args[0])  # R0 keeps the verifier's BTF type of the argument loaded from the context
        self.emit(mov(R1, R0), call("get_socket_cookie"))

    def c_skboutput(self, e: ast.Call) -> None:
        """bpf_skb_output(skb, perf map, BPF_F_CURRENT_CPU | len << 32, meta): the kernel appends ``len``
        bytes of the packet to the meta record; user space writes them to the pcap file."""
        ident = self.ctx.event(Event("skboutput", e.args[0].value, loc=e.loc))
        meta, flags = self.alloc(SKB_META_SIZE), self.alloc(8)
        self.expr(e.args[2])
        self.emit(stx(8, FP, meta + 16, R0), alu(AluOp.LSH, R0, 32), ld_imm64(R1, 0xFFFFFFFF),
                  alu(AluOp.OR, R0, R1), stx(8, FP, flags, R0))
        self.load_imm(R0, ident)
        self.emit(stx(8, FP, meta, R0))
        self.load_imm(R0, e.args[3].value)
        self.emit(stx(8, FP, meta + 8, R0), call("ktime_get_ns"), stx(8, FP, meta + 24, R0))
        self.expr(e.args[1])  # last: R0 keeps the verifier's BTF type of the skb loaded from the context
        self.emit(mov(R1, R0), ld_map_fd(R2, SKB_MAP), ldx(8, R3, FP, flags))
        self.fp_ptr(R4, meta)
        self.emit(mov(R5, SKB_META_SIZE), call("skb_output"), mov(R0, R0, bits=32))

    def c_write_user(self, e: ast.Call) -> None:
        dst, src = self.alloc(8), self.alloc(8)
        self.expr(e.args[0])
        self.emit(stx(8, FP, dst, R0))
        where = self.expr(e.args[1])
        if where is None:  # an integer: written from its stack copy
            self.emit(stx(8, FP, src, R0))
            where = src
        self.fp_ptr(R2, where)
        self.emit(ldx(8, R1, FP, dst), mov(R3, e.args[2].value), call("probe_write_user"))

    def c_debugf(self, e: ast.Call) -> None:
        """bpf_trace_printk (up to 3 values) or bpf_trace_vprintk (more): integers go as 64-bit values,
        strings as pointers to their stack copy."""
        self.ctx.event(Event("debugf"))  # no record is sent: tells the runtime the trace buffer is written
        fmt = trace_printk_format(e.args[0].value).encode() + b"\0"
        values = self.alloc(8 * max(len(e.args) - 1, 1))
        for i, arg in enumerate(e.args[1:]):
            where = self.expr(arg)
            if where is None:
                self.emit(stx(8, FP, values + 8 * i, R0))
            else:
                self.fp_ptr(R1, where)
                self.emit(stx(8, FP, values + 8 * i, R1))
        where = self.string_const(fmt, len(fmt))
        self.fp_ptr(R1, where)
        self.emit(mov(R2, len(fmt)))
        nargs = len(e.args) - 1
        if nargs <= 3:
            for i, reg in zip(range(nargs), (R3, R4, R5), strict=False):
                self.emit(ldx(8, reg, FP, values + 8 * i))
            self.emit(call("trace_printk"))
        else:
            self.fp_ptr(R3, values)
            self.emit(mov(R4, 8 * nargs), call("trace_vprintk"))

    def c_join(self, e: ast.Call) -> None:
        """join(argv[, delim]): the record (id, count, then JOIN_ARGS slots of JOIN_ARG_SIZE bytes) is too
        big for the stack, so it is built in place in the ring buffer (reserve, fill, submit)."""
        delim = e.args[1].value if len(e.args) > 1 else " "
        ident = self.ctx.event(Event("join", delim))
        argv, ptr = self.alloc(8), self.alloc(8)
        self.expr(e.args[0])
        self.emit(stx(8, FP, argv, R0))
        size = 16 + JOIN_ARGS * JOIN_ARG_SIZE
        done, submit = self.label(), self.label()
        self.emit(ld_map_fd(R1, RINGBUF), mov(R2, size), mov(R3, 0), call("ringbuf_reserve"),
                  jmp(JmpOp.JEQ, R0, 0, done), mov(R8, R0))
        self.load_imm(R1, ident)
        self.emit(stx(8, R8, 0, R1), st(8, R8, 8, 0))
        for i in range(JOIN_ARGS):
            self.fp_ptr(R1, ptr)
            self.emit(mov(R2, 8), ldx(8, R3, FP, argv), add(R3, 8 * i), call("probe_read"),
                      jmp(JmpOp.JNE, R0, 0, submit), ldx(8, R3, FP, ptr), jmp(JmpOp.JEQ, R3, 0, submit),
                      mov(R1, R8), add(R1, 16 + i * JOIN_ARG_SIZE), mov(R2, JOIN_ARG_SIZE), call("probe_read_str"),
                      st(8, R8, 8, i + 1))
        self.place(submit)
        self.emit(mov(R1, R8), mov(R2, 0), call("ringbuf_submit"))
        self.place(done)
        self.emit(ja(0))

    def send(self, ev: Event, args: list[ast.Expr]) -> None:
        """Emit an event record (u64 id, then each argument padded to 8 bytes, in ``ev.order``).

        Readers of a record stop at a string's NUL: str() reads straight into its slot (no clearing, no
        copy), and a record ending in a big string ends at its NUL (the ring buffer and user space never
        see the rest of a 1 KiB string slot)."""
        ident = self.ctx.event(ev)
        buf = self.alloc(ev.size)
        self.load_imm(R0, ident)
        self.emit(stx(8, FP, buf, R0))
        iterator = self.scope.target.provider == "iter"
        length = None  # the last slot's length up to its NUL is in R0 (a record that ends there)
        for i, pos in ev.slots():
            arg, t = args[i], ev.arg_types[i]
            length = None
            if t.kind != "string" or t.size < TAIL_STRING_MIN:
                self.store(arg, buf + pos, t)
            elif isinstance(arg, ast.Call) and arg.func == "str" and arg.type.size == t.size:
                self.c_str(arg, into=buf + pos)
                length = t.size
            elif t.size % 8:  # room for one more byte: a string without NUL in its size keeps every byte
                where = self.expr(arg)
                self.fp_ptr(R1, buf + pos)
                self.emit(mov(R2, t.size + 1), mov(R3, FP), add(R3, where), call("probe_read_kernel_str"))
                length = t.size + 1
            else:
                self.store(arg, buf + pos, t)
        if iterator:
            # into the iterator's output (ctx->meta->seq), read by user space in order, record after record
            self.emit(ldx(8, R1, R6, 0), ldx(8, R1, R1, 0))
            self.fp_ptr(R2, buf)
            self.emit(mov(R3, ev.size), call("seq_write"))
            return
        if length is not None:
            # R3 = the record up to the NUL: R0 (bytes read, the NUL included) held to 1..length
            big, small = self.label(), self.label()
            self.emit(jmp(JmpOp.JSGT, R0, 0, big), mov(R0, 1))
            self.place(big)
            self.emit(jmp(JmpOp.JLE, R0, length, small), mov(R0, length))
            self.place(small)
            self.emit(mov(R3, R0), add(R3, ev.size - ev.arg_types[ev.order[-1]].padded))
        else:
            self.emit(mov(R3, ev.size))
        self.emit(ld_map_fd(R1, RINGBUF))
        self.fp_ptr(R2, buf)
        self.emit(mov(R4, 0), call("ringbuf_output"))
