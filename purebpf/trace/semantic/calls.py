"""Function calls: each ``call_<name>`` checks its arguments and gives the result type."""

from __future__ import annotations

from purebpf.errors import BPFError
from purebpf.trace import ast
from purebpf.trace.location import Location
from purebpf.trace.printf import INT_CONVERSIONS, FormatError, parse_format
from purebpf.trace.semantic.base import SemanticBase
from purebpf.trace.semantic.scope import (
    AGGREGATIONS,
    DEFAULT_STACK_DEPTH,
    NSECS_CLOCKS,
    STACK_MODES,
    UNSAFE_FUNCTIONS,
    MapInfo,
    ProbeScope,
)
from purebpf.trace.types import (
    BOOL,
    COMM,
    INET,
    INT64,
    MACADDR,
    NONE,
    STRING,
    UINT64,
    Array,
    Buffer,
    Int,
    Ptr,
    Str,
    TType,
)

PID_NAMESPACES = ("curr_ns", "init")


def btf_reachable(e: ast.Expr) -> bool:
    """Whether ``e`` (a struct or a pointer to one) is reached from the probe's context by loads the
    verifier types by BTF: a typed argument, ``ctx`` and members of these.  A variable holds a plain
    number (its value was read with probe_read, or kept in scratch memory), which the helper refuses."""
    if isinstance(e, ast.Unop) and e.op == "*":
        return btf_reachable(e.expr)
    if isinstance(e, ast.FieldAccess):
        if getattr(e, "member", None) is not None:
            return btf_reachable(e.expr)
        return hasattr(e, "ctx_offset")  # args.x of a BTF-typed probe
    return isinstance(e, ast.Builtin) and e.name == "ctx"


class CallsMixin(SemanticBase):
    def _call(self, e: ast.Call, scope: ProbeScope, statement: bool) -> TType:
        func = e.func
        if func in AGGREGATIONS:
            self.error(f"{func}() should be directly assigned to a map", e.loc)
            return NONE
        if func in UNSAFE_FUNCTIONS and not self.env.unsafe:
            self.error(f"{func}() is an unsafe function being used in safe mode", e.loc)
        handler = getattr(self, "call_" + func, None)
        if handler is None:
            self.error(f"Unknown function: {func}", Location(e.loc.line, e.loc.col, e.loc.col + len(func)))
            return NONE
        return handler(e, scope, statement)

    def _nargs(self, e: ast.Call, lo: int, hi: int | None = None) -> bool:
        hi = lo if hi is None else hi
        if lo <= len(e.args) <= hi:
            return True
        if lo == hi:
            words = {0: "no arguments", 1: "one argument", 2: "two arguments"}.get(lo, f"{lo} arguments")
            self.error(f"{e.func}() requires {words} ({len(e.args)} provided)", e.loc)
        else:
            self.error(f"{e.func}() requires between {lo} and {hi} arguments ({len(e.args)} provided)", e.loc)
        return False

    def _format_call(self, e: ast.Call, scope: ProbeScope) -> None:
        if not e.args or not isinstance(e.args[0], ast.String):
            self.error(f"{e.func}() requires a string literal as its first argument", e.loc)
            for a in e.args:
                self.expr(a, scope)
            return
        self._printf_args(e, scope)

    def call_printf(self, e, scope, statement):
        self._format_call(e, scope)
        return NONE

    call_errorf = call_warnf = call_printf

    def call_debugf(self, e, scope, statement):
        """``debugf()`` writes to the kernel's trace buffer (bpf_trace_printk), which takes 12 values at most."""
        self._format_call(e, scope)
        if len(e.args) > 13:
            self.error(f"debugf: too many arguments ({len(e.args) - 1} supplied, 12 at most)", e.loc)
        return NONE

    def call_system(self, e, scope, statement):
        self._format_call(e, scope)
        return NONE

    def call_cat(self, e, scope, statement):
        self._format_call(e, scope)
        return NONE

    def call_print(self, e, scope, statement):
        if not self._nargs(e, 1, 3):
            return NONE
        arg = e.args[0]
        if isinstance(arg, ast.Map) and not arg.keys:
            info = self.maps.get(arg.name)
            if info is None or not info.kind:
                self.error(f"Undefined map: {arg.name}", arg.loc)
            for extra in e.args[1:]:
                if self.const_int(extra) is None:
                    self.error("print() top and div arguments must be integer literals", extra.loc)
            return NONE
        if len(e.args) > 1:
            self.error("Non-map print() only takes 1 argument", e.loc)
        t = self.expr(arg, scope)
        if t.kind == "none":
            self.error("print() of an expression with no value", arg.loc)
        elif t.kind in ("struct", "array"):  # printed with its members' names and layout
            arg.type = self.stored(t, arg.loc)
        return NONE

    def call_clear(self, e, scope, statement):
        if len(e.args) != 1 or not isinstance(e.args[0], ast.Map) or e.args[0].keys:
            self.error(f"{e.func}() expects a map argument", e.loc)
        elif not self.maps.get(e.args[0].name, MapInfo("")).kind:
            self.error(f"Undefined map: {e.args[0].name}", e.args[0].loc)
        return NONE

    call_zero = call_clear

    def _map_and_key(self, e: ast.Call, scope: ProbeScope, what: str) -> bool:
        """``f(@m[k])`` or ``f(@m, k)`` (or ``f(@m)`` for a scalar map): normalised to ``[@m[k]]``."""
        args = e.args
        if len(args) == 2 and isinstance(args[0], ast.Map) and not args[0].keys:
            key = args[1]
            keys = key.elems if isinstance(key, ast.Tuple) and not key.names else [key]
            args[:] = [ast.Map(args[0].loc, args[0].name, keys)]
        if len(args) != 1 or not isinstance(args[0], ast.Map):
            self.error(f"{what}() expects a map element such as @m[key] or @m, key", e.loc)
            return False
        info = self.maps.get(args[0].name)
        if info is None or not info.kind:
            self.error(f"Undefined map: {args[0].name}", args[0].loc)
            return False
        self._map_keys(args[0], scope)
        return True

    def call_delete(self, e, scope, statement):
        self._map_and_key(e, scope, "delete")
        return BOOL

    def call_has_key(self, e, scope, statement):
        if len(e.args) == 2 and isinstance(e.args[0], ast.Map):
            info = self.maps.get(e.args[0].name)
            if info is not None and info.keys_seen and info.key is None:
                self.error("call to has_key() expects a map with explicit keys (non-scalar map)", e.loc)
                return BOOL
        self._map_and_key(e, scope, "has_key")
        return BOOL

    def call_len(self, e, scope, statement):
        if not self._nargs(e, 1):
            return UINT64
        arg = e.args[0]
        if isinstance(arg, ast.Map) and not arg.keys:
            info = self.maps.get(arg.name)
            if info is None or not info.kind:
                self.error(f"Undefined map: {arg.name}", arg.loc)
            elif info.key is None:
                self.error("call to len() expects a map with explicit keys (non-scalar map)", e.loc)
            return INT64
        t = self.expr(arg, scope)
        if t.kind == "string":
            e.func = "strlen"
            return UINT64
        if t.kind in ("array", "kstack", "ustack"):
            return INT64
        self.error(f"len() expects a map or a string ({t} given)", arg.loc)
        return INT64

    def call_exit(self, e, scope, statement):
        if self._nargs(e, 0, 1):
            for a in e.args:
                if self.expr(a, scope).kind not in ("int", "bool"):
                    self.error("exit() code must be an integer", a.loc)
        return NONE

    def call_str(self, e, scope, statement):
        if not self._nargs(e, 1, 2):
            return STRING
        if isinstance(e.args[0], ast.PositionalParameter) and e.args[0].index > 0:
            index = e.args[0].index
            raw = self.env.params[index - 1] if index <= len(self.env.params) else ""
            e.args[0] = ast.String(e.args[0].loc, raw)
        arg = e.args[0]
        if (isinstance(arg, ast.Binop) and arg.op == "+" and isinstance(arg.left, ast.PositionalParameter)
                and isinstance(self.param_value(arg.left.index), str) and self.const_int(arg.right) is not None):
            # str($1 + n): pointer arithmetic on a string parameter skips its first n characters
            raw = str(self.param_value(arg.left.index))
            e.args[0] = ast.String(arg.loc, raw[max(self.const_int(arg.right), 0):])
        t = self.expr(e.args[0], scope)
        if len(e.args) == 2:
            t2 = self.expr(e.args[1], scope)
            if t2.kind != "int":
                self.error("str() length must be an integer", e.args[1].loc)
        # the length counts the terminating NUL (str(p, 5) keeps 4 characters); without one, str() keeps
        # max_strlen characters, and its string has room for them and the NUL
        full = self.env.max_strlen + 1
        if t.kind == "string":
            if len(e.args) == 2:
                n = self.const_int(e.args[1])
                if n is not None and n < t.size:
                    return Str(max(n, 1))
            return t
        if t.kind not in ("int", "pointer"):
            self.error(f"str() expects an integer or a pointer, not {t}", e.args[0].loc)
        if len(e.args) == 2:
            n = self.const_int(e.args[1])
            if n is not None:
                return Str(min(max(n, 1), full))
        return Str(full)

    def call_path(self, e, scope, statement):
        """``path(p[, size])``: the full path of a ``struct path`` (bpf_d_path), at most ``size`` bytes
        (max_strlen by default) with the NUL.  The kernel lets only iterators and fentry/fexit on an
        allowlist of functions call the helper, on a pointer it knows by BTF type."""
        if not self._nargs(e, 1, 2):
            return Str(self.env.max_strlen)
        size = self.env.max_strlen
        if len(e.args) == 2:
            self.expr(e.args[1], scope)
            n = self.const_int(e.args[1])
            if n is None or n < 1:
                self.error("path: invalid size value, need a positive integer literal", e.args[1].loc)
            else:
                size = min(n, self.env.max_strlen)
                e.args[1] = ast.Integer(e.args[1].loc, size)
        arg = e.args[0]
        t = self.expr(arg, scope)
        pointee = t.elems[0] if t.kind == "pointer" and t.elems else t
        if pointee.kind != "struct" or pointee.extra != "path":
            self.error(f"path() expects a struct path or a struct path * ({t} provided)", arg.loc)
        elif not btf_reachable(arg):
            self.error("path() needs a pointer the kernel knows by BTF type: a probe argument or a member "
                       "reached from one (args.file->f_path, ctx->file->f_path)", arg.loc)
        provider = scope.target.provider
        if provider not in ("fentry", "fexit", "iter"):
            self.error("The path function can only be used with 'fentry', 'fexit', 'iter' probes", e.loc)
        elif provider != "iter" and scope.target.target in ("", "vmlinux"):
            from purebpf.features.tracing import helper_refused

            if helper_refused(provider, scope.target.func, "d_path"):
                self.error("helper bpf_d_path not allowed in probe", e.loc)
        scope.btf_helpers = True
        return Str(size)

    def call_strlen(self, e, scope, statement):
        if self._nargs(e, 1) and self.expr(e.args[0], scope).kind != "string":
            self.error("strlen() expects a string", e.args[0].loc)
        return UINT64

    def call_strcontains(self, e, scope, statement):
        if self._nargs(e, 2):
            for a in e.args:
                t = self.expr(a, scope)
                if t.kind != "string":
                    self.error(f"Expected string type for strcontains() argument, got {t}", a.loc)
        return BOOL

    def call_strncmp(self, e, scope, statement):
        if self._nargs(e, 3):
            for a in e.args[:2]:
                if self.expr(a, scope).kind != "string":
                    self.error("strncmp() expects strings", a.loc)
            if self.const_int(e.args[2]) is None:
                self.error("strncmp() length must be an integer literal", e.args[2].loc)
            else:
                e.args[2] = ast.Integer(e.args[2].loc, self.const_int(e.args[2]))
        return INT64

    def call_bswap(self, e, scope, statement):
        if not self._nargs(e, 1):
            return UINT64
        t = self.expr(e.args[0], scope)
        if t.kind != "int":
            self.error(f"bswap() only supports integer arguments ({t} provided)", e.args[0].loc)
            return UINT64
        return Int(t.size, False)

    def call_nsecs(self, e, scope, statement):
        if self._nargs(e, 0, 1) and e.args:
            arg = e.args[0]
            clock = arg.name if isinstance(arg, (ast.Identifier, ast.Builtin)) else ""
            if clock not in NSECS_CLOCKS:
                self.error(f"Invalid timestamp mode: {clock} (one of {', '.join(NSECS_CLOCKS)})", arg.loc)
        return UINT64

    def call_buf(self, e, scope, statement):
        if not self._nargs(e, 1, 2):
            return Buffer(64)
        t = self.expr(e.args[0], scope)
        length = None
        if len(e.args) == 2:
            self.expr(e.args[1], scope)
            length = self.const_int(e.args[1])
            if length is None:
                self.error("buf() length must be an integer literal or positional parameter", e.args[1].loc)
                return Buffer(64)
        elif t.kind in ("string", "array"):
            length = t.size
        if length is None:
            self.error("buf() needs a length for a pointer argument", e.loc)
            return Buffer(64)
        if t.kind not in ("string", "array", "int", "pointer"):
            self.error(f"buf() expects a pointer, string or array ({t} given)", e.args[0].loc)
        return Buffer(min(length, 256))

    def call_reg(self, e, scope, statement):
        """``reg("ip")``: a register of the probed context (x86_64 pt_regs; ``pc`` is ``ip``)."""
        from purebpf.trace.codegen.base import PT_REGS
        if self._nargs(e, 1):
            arg = e.args[0]
            if not isinstance(arg, ast.String) or arg.value not in PT_REGS:
                self.error(f"reg() takes a register name: one of {', '.join(PT_REGS)}", arg.loc)
            elif scope.target.provider not in ("kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "profile"):
                self.error(f"reg() can not be used in {scope.target.provider} probes (it reads pt_regs)", e.loc)
        return UINT64

    def call_ksym(self, e, scope, statement):
        if self._nargs(e, 1) and self.expr(e.args[0], scope).kind not in ("int", "pointer"):
            self.error("ksym() expects an integer", e.args[0].loc)
        return TType("ksym")

    def call_usym(self, e, scope, statement):
        if self._nargs(e, 1) and self.expr(e.args[0], scope).kind not in ("int", "pointer"):
            self.error("usym() expects an integer", e.args[0].loc)
        return TType("usym", 16)

    def call_cgroup_path(self, e, scope, statement):
        if self._nargs(e, 1, 2) and self.expr(e.args[0], scope).kind not in ("int", "bool"):
            self.error("cgroup_path() expects an integer cgroup id", e.args[0].loc)
        if len(e.args) == 2 and not isinstance(e.args[1], ast.String):
            self.error("cgroup_path() filter must be a string literal", e.args[1].loc)
            return TType("cgroup_path")
        return TType("cgroup_path", extra=e.args[1].value if len(e.args) == 2 else "")

    def call_comm(self, e, scope, statement):
        """``comm(pid)`` (bpftrace's stdlib): the name of the task with that pid, looked up with the
        bpf_task_from_pid kfunc, which only BTF-typed (TRACING) programs may call; ``comm()`` is ``comm``."""
        if not self._nargs(e, 0, 1) or not e.args:
            return COMM
        if self.expr(e.args[0], scope).kind != "int":
            self.error("comm(): the pid must be an integer", e.args[0].loc)
        if scope.target.provider not in ("iter", "fentry", "fexit", "rawtracepoint"):
            self.error("comm(pid) can only be used in iter, fentry, fexit and rawtracepoint probes (it calls the "
                       "bpf_task_from_pid kfunc)", e.loc)
            return COMM
        btf = self.env.structs.btf
        ids = [btf.find_ids(name, "func") for name in ("bpf_task_from_pid", "bpf_task_release")] if btf else []
        if not ids or not all(ids):
            self.error("comm(pid) needs the bpf_task_from_pid and bpf_task_release kfuncs (Linux 6.2+)", e.loc)
            return COMM
        scope.btf_helpers = True
        e.btf_id = (ids[0][0], ids[1][0], btf.member_offset("task_struct", "comm"))
        return COMM

    def call_percpu_kaddr(self, e, scope, statement):
        """``percpu_kaddr("runqueues"[, cpu])``: a per-CPU kernel variable's address on a CPU (this one
        by default), typed by BTF."""
        if not self._nargs(e, 1, 2):
            return UINT64
        if not isinstance(e.args[0], ast.String):
            self.error("percpu_kaddr() expects a string literal as its first argument", e.args[0].loc)
            return UINT64
        if len(e.args) == 2 and self.expr(e.args[1], scope).kind != "int":
            self.error("percpu_kaddr(): the CPU must be an integer", e.args[1].loc)
        found = self.env.structs.variable(e.args[0].value)
        if found is None:
            self.error(f"percpu_kaddr(): kernel BTF has no variable named '{e.args[0].value}'", e.args[0].loc)
            return UINT64
        from purebpf.symbols.kernel import kernel_symbol_listed

        if not kernel_symbol_listed(e.args[0].value):  # the kernel locates the variable through kallsyms
            self.error(f"percpu_kaddr(): '{e.args[0].value}' is not in /proc/kallsyms (a kernel built without "
                       "CONFIG_KALLSYMS_ALL lists no variables there), so the kernel cannot locate it", e.loc)
        e.btf_id, vtype = found
        return Ptr(vtype)

    def call_kaddr(self, e, scope, statement):
        if self._nargs(e, 1):
            arg = e.args[0]
            if isinstance(arg, ast.Call) and arg.func == "str" and len(arg.args) == 1 and isinstance(
                    arg.args[0], ast.PositionalParameter):
                arg = e.args[0] = ast.String(arg.loc, str(self.param_value(arg.args[0].index)))
            if not isinstance(arg, ast.String):
                self.error("kaddr() expects a string literal", arg.loc)
                return UINT64
            from purebpf.symbols import kernel_symbols

            if kernel_symbols().address(arg.value) is None:
                self.error(f"Failed to resolve kernel symbol: {arg.value}", e.loc)
        return UINT64

    def call_uptr(self, e, scope, statement):
        """``uptr(p)`` / ``kptr(p)`` say which address space ``p`` points into.  On x86_64 the reads
        (probe_read, probe_read_str) tell user from kernel addresses themselves, so the value passes through."""
        if not self._nargs(e, 1):
            return NONE
        t = self.expr(e.args[0], scope)
        if t.kind not in ("int", "pointer"):
            self.error(f"{e.func}() expects an integer or a pointer ({t} given)", e.args[0].loc)
        return t

    call_kptr = call_uptr

    def call_uaddr(self, e, scope, statement):
        """``uaddr("NAME")``: the run-time address of a variable of the probed binary, as a pointer to an
        integer of the variable's size.  In a position-independent binary it moves with the load base,
        which the program learns from the probe's own address (bpf_get_func_ip) at run time."""
        if not self._nargs(e, 1):
            return Ptr(UINT64)
        arg = e.args[0]
        if not isinstance(arg, ast.String):
            self.error("uaddr() expects a string literal", arg.loc)
            return Ptr(UINT64)
        t = scope.target
        if t.provider not in ("uprobe", "uretprobe", "usdt"):
            self.error("uaddr can only be used with uprobe, uretprobe and usdt probes", e.loc)
            return Ptr(UINT64)
        from purebpf.links.symbols import data_symbol, offset_to_address, symbol_offset

        try:
            sym = data_symbol(t.target, arg.value)
        except (OSError, BPFError):
            sym = None
        if sym is None:
            self.error(f"Could not resolve symbol: {t.target}:{arg.value}", e.loc)
            return Ptr(UINT64)
        probe_address = None
        if sym.position_independent:
            if t.provider == "usdt":
                self.error("uaddr() in a position-independent binary needs a uprobe or uretprobe", e.loc)
                return Ptr(UINT64)
            try:
                func = int(t.func, 0) if t.func[:1].isdigit() else t.func
                probe_address = offset_to_address(t.target, symbol_offset(t.target, func, t.offset))
            except (OSError, BPFError):
                probe_address = None
            if probe_address is None:
                self.error(f"uaddr(): cannot locate the probe {t.func} in {t.target}", e.loc)
                return Ptr(UINT64)
        e.btf_id = (sym.address, probe_address)
        return Ptr(Int(sym.size, False) if sym.size in (1, 2, 4, 8) else UINT64)

    def call_cgroupid(self, e, scope, statement):
        if self._nargs(e, 1) and not isinstance(e.args[0], ast.String):
            self.error("cgroupid() expects a string literal", e.args[0].loc)
        return UINT64

    def call_strftime(self, e, scope, statement):
        if self._nargs(e, 2):
            if not isinstance(e.args[0], ast.String):
                self.error("strftime() expects a string literal as its format", e.args[0].loc)
                return NONE
            if self.expr(e.args[1], scope).kind != "int":
                self.error("strftime() expects an integer timestamp", e.args[1].loc)
            return TType("timestamp", extra=e.args[0].value)
        return NONE

    def call_time(self, e, scope, statement):
        if self._nargs(e, 0, 1) and e.args and not isinstance(e.args[0], ast.String):
            self.error("time() expects a string literal", e.args[0].loc)
        return NONE

    def call_join(self, e, scope, statement):
        if not self._nargs(e, 1, 2):
            return NONE
        t = self.expr(e.args[0], scope)
        if t.kind not in ("int", "pointer"):
            self.error(f"join() expects a pointer to an array of strings ({t} provided)", e.args[0].loc)
        if len(e.args) == 2 and not isinstance(e.args[1], ast.String):
            self.error("join() delimiter must be a string literal", e.args[1].loc)
        return NONE

    def call_write_user(self, e, scope, statement):
        """``write_user(dst, src, len)``: bpf_probe_write_user, which can corrupt the traced process."""
        if not self.env.unsafe:
            self.error("write_user() is unsafe. To use you need the --unsafe flag", e.loc)
        if not self._nargs(e, 3):
            return NONE
        dst, src = self.expr(e.args[0], scope), self.expr(e.args[1], scope)
        if dst.kind not in ("int", "pointer"):
            self.error(f"write_user() destination must be an address ({dst} provided)", e.args[0].loc)
        if src.kind not in ("string", "buffer", "array", "tuple", "int", "struct"):
            self.error(f"write_user() cannot write a value of type {src}", e.args[1].loc)
        n = self.const_int(e.args[2])
        if n is None or not 0 < n <= max(src.padded, src.size):
            self.error(f"write_user() length must be an integer literal from 1 to the size of the source "
                       f"({max(src.padded, src.size)})", e.args[2].loc)
        return NONE

    def call_signal_name(self, e, scope, statement):
        if self._nargs(e, 1) and self.expr(e.args[0], scope).kind not in ("int", "bool"):
            self.error("signal_name() expects an integer", e.args[0].loc)
        return TType("signal_name")

    def call_strerror(self, e, scope, statement):
        if self._nargs(e, 1) and self.expr(e.args[0], scope).kind != "int":
            self.error("strerror() expects an integer", e.args[0].loc)
        return TType("strerror")

    def call_ntop(self, e, scope, statement):
        if not self._nargs(e, 1, 2):
            return INET
        for a in e.args:
            t = self.expr(a, scope)
            if t.kind not in ("int", "array", "string"):
                self.error(f"ntop() expects an integer or an array ({t} given)", a.loc)
        addr = e.args[-1].type
        if addr.kind in ("array", "string") and addr.size not in (4, 16):
            self.error(f"ntop() expects a 4 or 16 byte address ({addr.size} bytes given)", e.args[-1].loc)
        return INET

    def call_macaddr(self, e, scope, statement):
        """``macaddr(x)``: an Ethernet address from a byte array (of 6 bytes or more) or a pointer to one."""
        if not self._nargs(e, 1):
            return MACADDR
        t = self.expr(e.args[0], scope)
        if t.kind == "pointer" or (t.kind in ("array", "string") and t.size >= 6):
            return MACADDR
        self.error(f"macaddr() expects an array of at least 6 bytes or a pointer ({t} given)", e.args[0].loc)
        return MACADDR

    def call_pton(self, e, scope, statement):
        if not self._nargs(e, 1) or not isinstance(e.args[0], ast.String):
            self.error("pton() expects a string literal", e.loc)
            return Array(Int(1, False), 4)
        import ipaddress

        try:
            addr = ipaddress.ip_address(e.args[0].value)
        except ValueError:
            self.error(f"pton() cannot parse address '{e.args[0].value}'", e.args[0].loc)
            return Array(Int(1, False), 4)
        return Array(Int(1, False), len(addr.packed))

    def call_signal(self, e, scope, statement):
        if self._nargs(e, 1):
            arg = e.args[0]
            if isinstance(arg, ast.String):
                import signal as _signal
                name = arg.value if arg.value.startswith("SIG") else "SIG" + arg.value
                if not hasattr(_signal, name):
                    self.error(f"Invalid signal: {arg.value}", arg.loc)
            elif self.expr(arg, scope).kind != "int":
                self.error("signal() expects a signal name or number", arg.loc)
        return NONE

    def call_kstack(self, e, scope, statement):
        return self._stack(e, "kstack")

    def call_ustack(self, e, scope, statement):
        return self._stack(e, "ustack")

    def _stack(self, e: ast.Call, kind: str) -> TType:
        mode, depth = self.env.stack_mode, DEFAULT_STACK_DEPTH
        if not self._nargs(e, 0, 2):
            return TType(kind)
        for arg in e.args:
            if isinstance(arg, (ast.Identifier, ast.Builtin)) and arg.name in STACK_MODES:
                mode = arg.name
            elif self.const_int(arg) is not None:
                depth = self.const_int(arg)
                if not 1 <= depth <= 1024:
                    self.error(f"{kind}() limit must be from 1 to 1024", arg.loc)
            else:
                self.error(f"{kind}() takes a mode (bpftrace, perf, raw) and a limit", arg.loc)
        return TType(kind, extra=f"{mode}:{depth}")

    def call_getopt(self, e, scope, statement):
        if not self._nargs(e, 1, 3) or not isinstance(e.args[0], ast.String):
            self.error("getopt() expects an option name as a string literal", e.loc)
            return BOOL
        description = e.args[2].value if len(e.args) == 3 and isinstance(e.args[2], ast.String) else ""
        self.env.options_read.setdefault(e.args[0].value, description)
        if len(e.args) == 1:
            return BOOL
        default = e.args[1]
        if isinstance(default, ast.String):
            return STRING
        given = self.env.named.get(e.args[0].value)
        if given is not None and self.const_int(default) is not None:
            try:
                if int(given, 0) >= 1 << 63:
                    return UINT64
            except ValueError:
                self.error(f"program command line option --{e.args[0].value} invalid integer (value: {given})",
                           None)  # about the command line, not a place in the program
        if isinstance(default, ast.Identifier) and default.name in ("true", "false"):
            return BOOL
        if self.const_int(default) is None:
            self.error("getopt() default must be a literal", default.loc)
        return INT64

    def _btf_pointer_helper(self, e: ast.Call, scope: ProbeScope, arg: ast.Expr, struct: str) -> None:
        """skboutput() and socket_cookie() hand a kernel object to a helper that wants a pointer the
        verifier knows by BTF type: only the arguments of BTF-typed probes (fentry, fexit, rawtracepoint,
        loaded as tp_btf) are such pointers."""
        if scope.target.provider not in ("fentry", "fexit", "rawtracepoint") or scope.typed_args is None:
            self.error(f"{e.func}() can only be used in fentry, fexit and rawtracepoint probes described by "
                       "kernel BTF (it needs a typed kernel pointer)", e.loc)
        t = self.expr(arg, scope)
        if t.kind not in ("pointer", "int"):
            self.error(f"{e.func}() expects a 'struct {struct} *' ({t} given)", arg.loc)
        scope.btf_helpers = True

    def call_pid(self, e, scope, statement):
        """``pid(curr_ns)``, ``pid(init)`` (and ``tid(...)``): the id as seen from purebpf's own pid
        namespace, or from the initial one."""
        if self._nargs(e, 1):
            arg = e.args[0]
            if not isinstance(arg, (ast.Identifier, ast.Builtin)) or arg.name not in PID_NAMESPACES:
                self.error(f"{e.func}() takes a pid namespace: {' or '.join(PID_NAMESPACES)}", arg.loc)
        return UINT64

    call_tid = call_pid

    def call_socket_cookie(self, e, scope, statement):
        """``socket_cookie(sk)``: the socket's cookie (bpf_get_socket_cookie on a BTF-typed struct sock)."""
        if self._nargs(e, 1):
            self._btf_pointer_helper(e, scope, e.args[0], "sock")
        return UINT64

    def call_skboutput(self, e, scope, statement):
        """``skboutput(path, skb, len, offset)``: ``len`` bytes of the packet are written to the pcap file
        ``path`` (bpf_skb_output through a perf event array), the first ``offset`` of them left out."""
        if not self._nargs(e, 4):
            return Int(4, False)
        if not isinstance(e.args[0], ast.String):
            self.error("skboutput() expects a string literal as its first argument (the pcap file)", e.args[0].loc)
        self._btf_pointer_helper(e, scope, e.args[1], "sk_buff")
        if self.expr(e.args[2], scope).kind != "int":
            self.error("skboutput() length must be an integer", e.args[2].loc)
        if self.const_int(e.args[3]) is None:
            self.error("skboutput() offset must be an integer literal", e.args[3].loc)
        else:
            e.args[3] = ast.Integer(e.args[3].loc, self.const_int(e.args[3]))
        return Int(4, False)

    def call_unsupported(self, e: ast.Call, what: str) -> TType:
        self.error(f"{e.func}() is not supported by purebpf trace ({what})", e.loc)
        return NONE

    def _printf_args(self, e: ast.Call, scope: ProbeScope) -> None:
        try:
            fmt = parse_format(e.args[0].value)
        except FormatError as exc:
            self.error(f"{e.func}: {exc}", e.loc)
            return
        supplied, expected = len(e.args) - 1, len(fmt.conversions)
        if supplied < expected:
            self.error(f"{e.func}: Not enough arguments for format string ({supplied} supplied, "
                       f"{expected} expected)", e.loc)
        elif supplied > expected:
            self.error(f"{e.func}: Too many arguments for format string ({supplied} supplied, "
                       f"{expected} expected)", e.loc)
        for a, conv in zip(e.args[1:], fmt.conversions, strict=False):
            t = self.expr(a, scope)
            if t.kind == "none":
                self.error(f"{e.func}: argument has no value", a.loc)
            elif conv.conv in INT_CONVERSIONS and t.kind not in ("int", "bool", "pointer", "ksym", "usym",
                                                                 "strerror"):
                self.error(f"{e.func}: %{conv.conv} specifier expects a value of type integer ({t.kind} supplied)",
                           e.loc)
        for a in e.args[len(fmt.conversions) + 1:]:
            self.expr(a, scope)
