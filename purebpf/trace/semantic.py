"""Semantic analysis: the type of every expression, the kind and layout of
every map, checks that builtins and functions are used where they can be.

Runs once per concrete probe (after expansion), because ``args`` and the
argument builtins mean different things on different probes.  Map types are
program-wide and accumulate across probes; errors become diagnostics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from purebpf.sys.tracepoint_format import TracepointField
from purebpf.trace import ast
from purebpf.trace.cdefs import CDefs
from purebpf.trace.location import Diagnostics, Location
from purebpf.trace.macros import variable_name
from purebpf.trace.printf import INT_CONVERSIONS, FormatError, parse_format
from purebpf.trace.probes import ProbeTarget
from purebpf.trace.structs import MAX_STRUCT_COPY, FunctionArgs, StructTable, is_struct_pointer
from purebpf.trace.types import BOOL, COMM, INET, INT64, NONE, STRING, UINT64, Array, Buffer, Int, Ptr, Str, TType, Tup

AGGREGATIONS = ("count", "sum", "min", "max", "avg", "stats", "hist", "lhist", "tseries")
# maps whose values are series of buckets: not readable as one value, not iterable
BUCKETED = ("hist", "lhist", "tseries")
TSERIES_AGGS = ("avg", "max", "min", "sum")
# aggregations a program can read back as an integer (summed over CPUs in the kernel)
READABLE_AGGREGATIONS = ("count", "sum", "min", "max", "avg")
INT_CASTS = {f"{p}int{n}": Int(n // 8, p == "") for p in ("", "u") for n in (8, 16, 32, 64)}
INT_CASTS.update({"char": Int(1, True), "short": Int(2, True), "int": Int(4, True), "long": Int(8, True),
                  "unsigned char": Int(1, False), "unsigned short": Int(2, False), "unsigned int": Int(4, False),
                  "unsigned long": Int(8, False), "unsigned": Int(4, False), "u8": Int(1, False),
                  "u16": Int(2, False), "u32": Int(4, False), "u64": Int(8, False), "s8": Int(1, True),
                  "s16": Int(2, True), "s32": Int(4, True), "s64": Int(8, True), "size_t": Int(8, False),
                  "ssize_t": Int(8, True), "int8_t": Int(1, True), "int16_t": Int(2, True),
                  "int32_t": Int(4, True), "int64_t": Int(8, True), "uint8_t": Int(1, False),
                  "uint16_t": Int(2, False), "uint32_t": Int(4, False), "uint64_t": Int(8, False),
                  "long long": Int(8, True), "unsigned long long": Int(8, False), "bool": BOOL})
BUILTIN_TYPES = {
    "pid": UINT64, "tid": UINT64, "uid": UINT64, "gid": UINT64, "nsecs": UINT64, "elapsed": UINT64,
    "cpu": UINT64, "comm": COMM, "rand": UINT64, "curtask": Ptr(TType("struct", 0, extra="task_struct")),
    "cgroup": UINT64, "probe": STRING, "func": STRING, "retval": INT64, "numaid": UINT64, "jiffies": UINT64,
    "ncpus": UINT64, "cpid": UINT64, "usermode": Int(1, False), "kstack": TType("kstack"),
    "ustack": TType("ustack"), "ctx": Ptr(TType("void", 0)), "username": TType("username"), "probetype": Str(16),
}
# what ``probetype`` says for each provider (BEGIN and END are bpftrace's "special" probes)
PROBE_TYPES = {"BEGIN": "special", "END": "special", "fentry": "fentry", "fexit": "fexit"}
ARG_PROVIDERS = ("kprobe", "uprobe")
RETVAL_PROVIDERS = ("kretprobe", "uretprobe", "fexit")
MAX_ARGS = 6  # x86_64 argument registers
NSECS_CLOCKS = ("monotonic", "boot", "tai", "sw_tai")
UNSAFE_FUNCTIONS = ("system", "signal", "override")
STACK_MODES = ("bpftrace", "perf", "raw", "build_id")
DEFAULT_STACK_DEPTH = 127
# operators folded in constant expressions (a tuple index such as ``$t[1 + 1]``)
CONST_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: int(a / b), "%": lambda a, b: a - b * int(a / b), "<<": lambda a, b: a << b,
             ">>": lambda a, b: a >> b, "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b}


@dataclass
class MapInfo:
    """What a ``@map`` holds, decided by how the program uses it."""
    name: str
    kind: str = ""                    # "value" or an aggregation name
    key: TType | None = None          # None: no keys (scalar map)
    value: TType = NONE
    lhist: tuple[int, int, int] = (0, 0, 0)  # min, max, step
    hist_bits: int = 0                # hist(x, k): 2^k linear sub-buckets per power of two
    loc: Location | None = None
    keys_seen: bool = False
    max_entries: int = 0              # from ``let @m = hash(N)``; 0: the default
    declared: str = ""                # the kind ``let @m = lruhash(N)`` gave it (hash, lruhash...)
    tseries: tuple[int, int, str] = (0, 0, "")  # interval (ns), number of intervals, aggregation ("": last)

    @property
    def per_cpu(self) -> bool:
        return self.kind in AGGREGATIONS

    @property
    def key_size(self) -> int:
        size = self.key.padded if self.key is not None else 8
        return size + (8 if self.kind in BUCKETED else 0)

    @property
    def value_size(self) -> int:
        if self.kind in ("min", "max", "avg", "stats"):
            return 16
        if self.kind == "tseries":  # value, meta (last write time or sample count), epoch
            return 24
        if self.kind in AGGREGATIONS:
            return 8
        return max(self.value.padded, 8)

    @property
    def lhist_buckets(self) -> int:
        lo, hi, step = self.lhist
        return (hi - lo) // step + 2


@dataclass
class ProbeScope:
    target: ProbeTarget
    fields: dict[str, TracepointField] = field(default_factory=dict)
    typed_args: FunctionArgs | None = None  # rawtracepoint/fentry/fexit: arguments from BTF
    variables: dict[str, TType] = field(default_factory=dict)
    for_loops: int = 0


@dataclass
class Environment:
    """What every probe's analysis shares besides maps: the command line and the program's C definitions."""
    params: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)
    unsafe: bool = False
    cpid: int = 0
    cdefs: CDefs = field(default_factory=CDefs)
    structs: StructTable = field(default_factory=StructTable)
    options_read: dict[str, str] = field(default_factory=dict)  # getopt() names -> descriptions


def unify(a: TType, b: TType) -> TType | None:
    """The common type two values can both be stored as, or None."""
    if a.kind != b.kind:
        return None
    if a.kind == "int":
        return Int(8, a.signed or b.signed) if a.extra != b.extra else TType("int", 8, a.signed or b.signed,
                                                                              extra=a.extra)
    if a.kind in ("string", "buffer"):
        return TType(a.kind, max(a.size, b.size))
    if a.kind == "tuple":
        if len(a.elems) != len(b.elems) or a.names != b.names and sorted(a.names) != sorted(b.names):
            return None
        # records match by field name (a record may list its fields in another order)
        others = [b.elems[b.names.index(n)] for n in a.names] if a.names else list(b.elems)
        elems = [unify(x, y) for x, y in zip(a.elems, others, strict=True)]
        if any(e is None for e in elems):
            return None
        return Tup(elems, list(a.names))  # type: ignore[arg-type]
    if a.kind == "pointer":
        return a
    return a if a == b else None


def storage_type(t: TType) -> TType:
    """Integers are stored as 64-bit in maps and variables, as bpftrace does."""
    if t.kind == "int":
        return TType("int", 8, t.signed, extra=t.extra)
    if t.kind == "tuple":
        return Tup([storage_type(e) for e in t.elems], list(t.names))
    return t


def _is_truthy(t: TType) -> bool:
    return t.kind in ("int", "bool", "pointer")


def _possible_cpus() -> int:
    try:
        text = open("/sys/devices/system/cpu/possible").read().strip()
    except OSError:
        return os.cpu_count() or 1
    return max(int(part.split("-")[-1]) for part in text.split(",")) + 1


class Semantic:
    def __init__(self, diags: Diagnostics, env: Environment | None = None) -> None:
        self.diags = diags
        self.env = env or Environment()
        self.maps: dict[str, MapInfo] = {}
        self.ncpus = _possible_cpus()

    def error(self, message: str, loc: Location) -> None:
        self.diags.error(message, loc)

    def stored(self, t: TType, loc: Location | None = None) -> TType:
        """How a value is kept in a variable, map or event: integers widened to 64 bits,
        structs with their members' layout (so user space can print them)."""
        if t.kind == "struct":
            if t.size > MAX_STRUCT_COPY and loc is not None:
                self.error(f"{t} is {t.size} bytes, too large to copy onto the BPF stack: read its members "
                           "(p->field) instead", loc)
            return self.struct_view(t)
        if t.kind == "tuple":
            return Tup([self.stored(e) for e in t.elems], list(t.names))
        return storage_type(t)

    def struct_view(self, t: TType) -> TType:
        layout = self.env.structs.layout(t.extra)
        if layout is None or t.size > MAX_STRUCT_COPY:
            return t  # code generation says the struct is too large to copy
        members = [m for m in layout.members if m.name]
        return TType("struct", t.size, False, tuple(self.struct_view(m.type) if m.type.kind == "struct" else m.type
                                                   for m in members),
                     tuple(m.name for m in members), t.extra, tuple(m.offset * 8 + m.bit_offset for m in members),
                     tuple(m.bit_size for m in members))

    # -- maps ---------------------------------------------------------------------

    def map_info(self, node: ast.Map) -> MapInfo:
        info = self.maps.get(node.name)
        if info is None:
            info = self.maps[node.name] = MapInfo(node.name, loc=node.loc)
        return info

    def key_type(self, keys: list[ast.Expr], scope: ProbeScope) -> TType | None:
        if not keys:
            return None
        types = [self.stored(self.expr(k, scope)) for k in keys]
        for k, t in zip(keys, types, strict=True):
            if t.kind == "none":
                self.error("Invalid map key: expression has no value", k.loc)
        return types[0] if len(types) == 1 else Tup(types)

    def _map_keys(self, node: ast.Map, scope: ProbeScope, key: TType | None = None, given: bool = False) -> None:
        info = self.map_info(node)
        if not given:
            key = self.key_type(node.keys, scope)
        if not info.keys_seen:
            info.key = key
        elif (info.key is None) != (key is None):
            self.error(f"Argument mismatch for {node.name}: trying to access with "
                       f"{'no arguments' if key is None else 'arguments'} when map expects "
                       f"{'no arguments' if info.key is None else 'arguments'}", node.loc)
        elif key is not None and info.key is not None:
            common = unify(info.key, key)
            if common is None:
                self.error(f"Argument mismatch for {node.name}: trying to access with arguments: "
                           f"'{_key_text(key)}' when map expects arguments: '{_key_text(info.key)}'", node.loc)
            else:
                info.key = common
        info.keys_seen = True

    def assign_map(self, target: ast.Map, value: ast.Expr, scope: ProbeScope) -> None:
        self._map_keys(target, scope)
        info = self.map_info(target)
        if isinstance(value, ast.Call) and value.func in AGGREGATIONS:
            self._aggregation(info, target, value, scope)
            target.type = info.value
            return
        vtype = self.expr(value, scope)
        if vtype.kind == "none":
            self.error("Invalid expression for assignment: no value", value.loc)
            return
        stored = self.stored(vtype, value.loc)
        if info.kind == "value":
            common = unify(info.value, stored)
        elif info.kind in READABLE_AGGREGATIONS and stored.kind == "int":
            common = info.value  # @count_map = 5: stores into this CPU's slot
        else:
            common = stored if not info.kind else None
        if common is None:
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type '{vtype}' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        if not info.kind:
            info.kind = "value"
        info.value = common
        target.type = common

    def _aggregation(self, info: MapInfo, target: ast.Map, call: ast.Call, scope: ProbeScope) -> None:
        func = call.func
        if func == "tseries":
            self._tseries(info, target, call, scope)
            return
        want = {"count": (0, 0), "sum": (1, 1), "min": (1, 1), "max": (1, 1), "avg": (1, 1), "stats": (1, 1),
                "hist": (1, 2), "lhist": (4, 4)}[func]
        if not want[0] <= len(call.args) <= want[1]:
            words = {0: "no arguments", 1: "one argument", 4: "4 arguments"}[want[0]]
            if func == "hist":
                words = "1 or 2 arguments"
            self.error(f"{func}() requires {words} ({len(call.args)} provided)", call.loc)
            return
        for arg in call.args:
            t = self.expr(arg, scope)
            if t.kind not in ("int", "bool", "pointer"):
                self.error(f"{func}() only supports integer arguments ({t} provided)", arg.loc)
        if func == "lhist":
            consts = []
            for arg, what in zip(call.args[1:], ("min", "max", "step"), strict=True):
                value = self.const_int(arg)
                if value is None:
                    self.error(f"lhist() {what} must be an integer literal", arg.loc)
                    return
                consts.append(value)
            lo, hi, step = consts
            if step <= 0 or hi <= lo:
                self.error("lhist() step must be >= 1 and max must be larger than min", call.loc)
                return
            if info.kind == "lhist" and info.lhist != (lo, hi, step):
                self.error(f"Type mismatch for {info.name}: lhist() arguments differ", call.loc)
            info.lhist = (lo, hi, step)
        if func == "hist" and len(call.args) == 2:
            bits = self.const_int(call.args[1])
            if bits is None or not 0 <= bits <= 5:
                self.error("hist() second argument must be an integer literal from 0 to 5", call.args[1].loc)
                return
            info.hist_bits = bits
        if info.kind and info.kind != func:
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type '{func}' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        info.kind = func
        info.value = INT64 if func != "count" else UINT64
        call.type = NONE

    def _tseries(self, info: MapInfo, target: ast.Map, call: ast.Call, scope: ProbeScope) -> None:
        """``tseries(value, interval, num_intervals[, agg])``: the last ``num_intervals`` intervals of
        ``interval`` ns, each keeping the last value written in it (or its avg/max/min/sum)."""
        if not 3 <= len(call.args) <= 4:
            self.error(f"tseries() requires 3 or 4 arguments ({len(call.args)} provided)", call.loc)
            return
        t = self.expr(call.args[0], scope)
        if t.kind not in ("int", "bool", "pointer"):
            self.error(f"tseries() only supports integer arguments ({t} provided)", call.args[0].loc)
        interval, count = self.const_int(call.args[1]), self.const_int(call.args[2])
        if interval is None or interval <= 0:
            self.error("tseries() interval_ns must be a positive integer literal", call.args[1].loc)
            return
        if count is None or not 1 <= count <= 1_000_000:
            self.error("tseries() num_intervals must be an integer literal from 1 to 1000000", call.args[2].loc)
            return
        agg = ""
        if len(call.args) == 4:
            arg = call.args[3]
            if not isinstance(arg, ast.String) or arg.value not in TSERIES_AGGS:
                self.error("tseries() aggregation must be one of: " + ", ".join(f'"{a}"' for a in TSERIES_AGGS),
                           arg.loc)
                return
            agg = arg.value
        if info.kind and info.kind != "tseries":
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type 'tseries' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        if info.kind == "tseries" and info.tseries != (interval, count, agg):
            self.error(f"Type mismatch for {info.name}: tseries() arguments differ", call.loc)
            return
        info.kind = "tseries"
        info.tseries = (interval, count, agg)
        info.value = INT64 if t.kind == "int" and t.signed else UINT64
        call.type = NONE

    def const_int(self, e: ast.Expr) -> int | None:
        """The value of a compile-time integer (literals, positional parameters, negations)."""
        if isinstance(e, ast.Integer):
            return e.value
        if isinstance(e, ast.PositionalParameter):
            value = self.param_value(e.index)
            return value if isinstance(value, int) else None
        if isinstance(e, ast.Unop) and e.op == "-":
            inner = self.const_int(e.expr)
            return -inner if inner is not None else None
        if isinstance(e, ast.Binop) and e.op in CONST_OPS:
            left, right = self.const_int(e.left), self.const_int(e.right)
            if left is None or right is None or (e.op in ("/", "%") and right == 0):
                return None
            return CONST_OPS[e.op](left, right)
        return None

    def param_value(self, index: int) -> int | str:
        params = self.env.params
        if index == 0:
            return len(params)
        if index > len(params):
            return 0
        from purebpf.trace.codegen import parse_param
        return parse_param(params[index - 1])

    # -- statements -----------------------------------------------------------------

    def probe(self, probe: ast.Probe, scope: ProbeScope) -> None:
        if probe.pred is not None:
            t = self.expr(probe.pred, scope)
            if not _is_truthy(t):
                self.error(f"Invalid type for predicate: {t}", probe.pred.loc)
        self.stmts(probe.body, scope)

    def stmts(self, stmts: list[ast.Stmt], scope: ProbeScope) -> None:
        for i, stmt in enumerate(stmts):
            self.stmt(stmt, scope)
            if i + 1 < len(stmts) and _ends_flow(stmt):
                self.diags.warning("Unreachable statement", stmts[i + 1].loc)

    def stmt(self, stmt: ast.Stmt, scope: ProbeScope) -> None:
        if isinstance(stmt, ast.ExprStmt):
            self.expr(stmt.expr, scope, statement=True)
        elif isinstance(stmt, ast.Assign):
            self.assign(stmt, scope)
        elif isinstance(stmt, ast.VarDecl):
            self.declare(stmt, scope)
        elif isinstance(stmt, ast.If):
            t = self.expr(stmt.cond, scope)
            if not _is_truthy(t):
                self.error(f"Invalid condition in if(): {t}", stmt.cond.loc)
            self.stmts(stmt.then, scope)
            self.stmts(stmt.orelse, scope)
        elif isinstance(stmt, ast.Unroll):
            count = self.const_int(stmt.count)
            if count is None:
                self.error("unroll count must be an integer literal or positional parameter", stmt.count.loc)
            elif count > 100:
                self.error("unroll maximum value is 100", stmt.count.loc)
            elif count < 1:
                self.error("unroll minimum value is 1", stmt.count.loc)
            elif not isinstance(stmt.count, ast.Integer):
                stmt.count = ast.Integer(stmt.count.loc, count)  # a positional parameter, resolved
            self.stmts(stmt.body, scope)
        elif isinstance(stmt, ast.While):
            self.expr(stmt.cond, scope)
            self.stmts(stmt.body, scope)
        elif isinstance(stmt, ast.For):
            self.for_loop(stmt, scope)
        elif isinstance(stmt, ast.Jump):
            if stmt.value is not None:
                self.expr(stmt.value, scope)
        else:
            self.error(f"{type(stmt).__name__} statements are not supported", stmt.loc)

    def for_loop(self, stmt: ast.For, scope: ProbeScope) -> None:
        scope.for_loops += 1
        if stmt.map is not None:
            info = self.maps.get(stmt.map.name)
            if info is None or not info.kind:
                self.error(f"Undefined map: {stmt.map.name}", stmt.map.loc)
                return
            if info.key is None:
                self.error("Maps used as for-loop expressions must have keys to iterate over", stmt.map.loc)
                return
            if info.kind in (*BUCKETED, "stats"):
                self.error(f"Loop expression does not support type: {info.kind}", stmt.map.loc)
                return
            vtype = Tup([info.key, info.value])
        else:
            for e in (stmt.start, stmt.end):
                t = self.expr(e, scope)
                if t.kind not in ("int", "bool"):
                    self.error(f"Loop range requires an integer, found {t}", e.loc)
            vtype = INT64
        self._set_var(stmt.var, vtype, scope, stmt.loc)
        self.stmts(stmt.body, scope)

    def declare(self, stmt: ast.VarDecl, scope: ProbeScope) -> None:
        declared = None
        if stmt.type_name:
            declared = self.resolve_type(stmt.type_name, stmt.loc)
        elif stmt.type_expr is not None:
            declared = self.stored(self.expr(stmt.type_expr, scope))
        if stmt.value is not None:
            self.assign(ast.Assign(stmt.loc, stmt.var, stmt.value), scope, declared=declared)
        elif declared is not None:
            self._set_var(stmt.var, self.stored(declared), scope, stmt.loc)
        else:
            scope.variables.setdefault(stmt.var.name, NONE)

    def assign(self, stmt: ast.Assign, scope: ProbeScope, declared: TType | None = None) -> None:
        target, value = stmt.target, stmt.value
        if stmt.op is not None:  # compound: target = target op value
            value = ast.Binop(stmt.loc, stmt.op, target, value)
            stmt.value, stmt.op = value, None
        if isinstance(target, ast.Map):
            self.assign_map(target, value, scope)
        elif isinstance(target, ast.Variable):
            vtype = self.expr(value, scope)
            if vtype.kind == "none":
                self.error("Value of type none cannot be assigned to a variable", value.loc)
                return
            if declared is not None and declared.kind != vtype.kind:
                self.error(f"Type mismatch for {variable_name(target.name)}: trying to assign value of type '{vtype}' "
                           f"when variable already has a type '{declared}'", stmt.loc)
                return
            self._set_var(target, declared or vtype, scope, stmt.loc)
        elif isinstance(target, ast.Identifier) and target.name == "_":
            self.expr(value, scope, statement=True)
        else:
            self.error("Only maps and variables can be assigned to", target.loc)

    def _set_var(self, target: ast.Variable, vtype: TType, scope: ProbeScope, loc: Location) -> None:
        stored = self.stored(vtype, loc)
        old = scope.variables.get(target.name)
        if old is not None and old.kind != "none":
            common = unify(old, stored)
            if common is None:
                self.error(f"Type mismatch for {variable_name(target.name)}: trying to assign value of type '{vtype}' "
                           f"when variable already contains a value of type '{old}'", loc)
                return
            stored = common
        scope.variables[target.name] = stored
        target.type = stored

    def resolve_type(self, name: str, loc: Location) -> TType | None:
        name = name.strip()
        if name.startswith("typeof(") and name.endswith(")") and name.count("(") == 1:
            name = name[len("typeof("):-1]  # typeof(T) of a type is T
        if name.endswith("]"):
            base, _, count = name[:-1].rpartition("[")
            elem = self.resolve_type(base, loc)
            if elem is None:
                return None
            return TType("array", 0, False, (elem,)) if not count else Array(elem, int(count))
        if name.endswith("*"):
            inner = self.resolve_type(name[:-1], loc)
            return Ptr(inner) if inner is not None else None
        name = " ".join(w for w in name.split() if w not in ("const", "volatile"))
        if name in INT_CASTS:
            return INT_CASTS[name]
        if name == "string":
            return STRING
        if name == "void":
            return TType("void", 0)
        if name.startswith("enum ") and name[5:] in self.env.cdefs.enums:
            return TType("int", 8, False, extra=name[5:])
        if name.startswith(("struct ", "union ")):
            found = self.env.structs.find(name.split(None, 1)[1])
            if found is None:
                self.error(f"Cannot resolve unknown type \"{name}\"", loc)
            return found
        named = self.env.structs.named_type(name)
        if named is not None:
            return named
        self.error(f"Cannot resolve unknown type \"{name}\"", loc)
        return None

    # -- expressions ----------------------------------------------------------------

    def expr(self, e: ast.Expr, scope: ProbeScope, statement: bool = False) -> TType:
        t = self._expr(e, scope, statement)
        e.type = t
        return t

    def _expr(self, e: ast.Expr, scope: ProbeScope, statement: bool) -> TType:
        if isinstance(e, ast.Integer):
            if not -(1 << 63) <= e.value < (1 << 64):
                self.error(f"integer {e.value} does not fit in 64 bits", e.loc)
            return INT64 if e.value < (1 << 63) else UINT64
        if isinstance(e, ast.String):
            return Str(len(e.value.encode()) + 1)
        if isinstance(e, ast.Builtin):
            return self._builtin(e, scope)
        if isinstance(e, ast.Identifier):
            return self._identifier(e)
        if isinstance(e, ast.PositionalParameter):
            value = self.param_value(e.index)
            return INT64 if isinstance(value, int) else Str(len(value.encode()) + 1)
        if isinstance(e, ast.Variable):
            t = scope.variables.get(e.name)
            if t is None:
                self.error(f"Undefined or undeclared variable: {variable_name(e.name)}", e.loc)
                return INT64
            if t.kind == "none":  # declared with let, read before any assignment: an integer 0
                scope.variables[e.name] = INT64
                return INT64
            return t
        if isinstance(e, ast.Map):
            return self._map_read(e, scope)
        if isinstance(e, ast.Binop):
            return self._binop(e, scope)
        if isinstance(e, ast.Unop):
            return self._unop(e, scope)
        if isinstance(e, ast.Ternary):
            self.expr(e.cond, scope)
            left = self.expr(e.left, scope) if e.left is not None else e.cond.type
            right = self.expr(e.right, scope)
            if left.kind == "none" and right.kind == "none":
                return NONE
            common = unify(self.stored(left), self.stored(right))
            if common is None:
                self.error(f"Ternary operator must return the same type: have '{left}' and '{right}'", e.loc)
                return left
            return common
        if isinstance(e, ast.IfExpr):
            self.expr(e.cond, scope)
            then = self.expr(e.then, scope)
            if e.orelse is None:
                return NONE
            other = self.expr(e.orelse, scope)
            if then.kind == "none" or other.kind == "none":
                return NONE
            common = unify(self.stored(then), self.stored(other))
            if common is None:
                self.error(f"if expression branches must have the same type: have '{then}' and '{other}'", e.loc)
                return then
            return common
        if isinstance(e, ast.BlockExpr):
            self.stmts(e.stmts, scope)
            return self.expr(e.value, scope, statement) if e.value is not None else NONE
        if isinstance(e, ast.Tuple):
            elems = [self.expr(x, scope) for x in e.elems]
            for x, t in zip(e.elems, elems, strict=True):
                if t.kind == "none":
                    self.error("Invalid tuple element: expression has no value", x.loc)
            if e.names and len(set(e.names)) != len(e.names):
                self.error("Record has duplicate field names", e.loc)
            return Tup([self.stored(t) for t in elems], e.names)
        if isinstance(e, ast.FieldAccess):
            return self._field(e, scope)
        if isinstance(e, ast.ArrayAccess):
            return self._index(e, scope)
        if isinstance(e, ast.Cast):
            return self._cast(e, scope)
        if isinstance(e, ast.Sizeof):
            return self._sizeof(e, scope)
        if isinstance(e, ast.Offsetof):
            return self._offsetof(e)
        if isinstance(e, ast.Call):
            return self._call(e, scope, statement)
        self.error(f"{type(e).__name__} expressions are not supported", e.loc)
        return INT64

    def _identifier(self, e: ast.Identifier) -> TType:
        t = self._known_identifier(e)
        if t is None:
            self.error(f"Unknown identifier: '{e.name}'", e.loc)
            return INT64
        return t

    def _known_identifier(self, e: ast.Identifier) -> TType | None:
        """true/false, the program's enumerators and #defines, then the kernel's enumerators (BTF)."""
        if e.name in ("true", "false"):
            return BOOL
        enum = self.env.cdefs.enum_values.get(e.name)
        if enum is not None:
            return TType("int", 8, False, extra=enum[1])
        define = self.env.cdefs.defines.get(e.name)
        if define is not None:
            try:
                int(define, 0)
                return INT64
            except ValueError:
                pass
        value = self.env.structs.enumerator(e.name)
        if value is not None:
            e.value = value
            return INT64
        return None

    def _map_read(self, e: ast.Map, scope: ProbeScope) -> TType:
        self._map_keys(e, scope)
        info = self.map_info(e)
        if not info.kind:
            self.error(f"Undefined map: {e.name}", e.loc)
            return INT64
        if info.kind in (*BUCKETED, "stats"):
            return NONE
        return info.value

    def _binop(self, e: ast.Binop, scope: ProbeScope) -> TType:
        left, right = self.expr(e.left, scope), self.expr(e.right, scope)
        if e.op in ("&&", "||"):
            for side, t in ((e.left, left), (e.right, right)):
                if not _is_truthy(t):
                    self.error(f"Invalid operand type for '{e.op}': {t}", side.loc)
            return BOOL
        if e.op in ("==", "!=") and left.kind in ("string", "buffer") and right.kind == left.kind:
            return BOOL
        if left.kind == "bool" and right.kind == "bool" and e.op in ("==", "!=", "&", "|", "^"):
            return BOOL
        lk, rk = left.kind, right.kind
        numeric = ("int", "bool")
        if lk == "pointer" and rk in numeric and e.op in ("+", "-"):
            return left
        if lk in numeric and rk == "pointer" and e.op == "+":
            return right
        if lk == "pointer" and rk == "pointer" and e.op == "-":
            return INT64
        if lk in ("pointer", "int", "bool") and rk in ("pointer", "int", "bool") and e.op in (
                "==", "!=", "<", "<=", ">", ">="):
            return BOOL
        if lk not in numeric or rk not in numeric:
            self.error(f"Type mismatch for '{e.op}': comparing '{left}' with '{right}'", e.loc)
            return INT64
        if e.op in ("==", "!=", "<", "<=", ">", ">="):
            return BOOL
        return Int(8, left.signed and right.signed if e.op in ("+", "-", "*") else left.signed)

    def _unop(self, e: ast.Unop, scope: ProbeScope) -> TType:
        if e.op in ("++", "--"):
            if isinstance(e.expr, ast.Map):
                info = self.map_info(e.expr)
                if not info.kind:
                    info.kind, info.value = "value", INT64
                self.expr(e.expr, scope)
                return info.value if info.value.kind == "pointer" else INT64
            if isinstance(e.expr, ast.Variable):
                t = self.expr(e.expr, scope)
                return t if t.kind == "pointer" else INT64
            self.error(f"The {e.op} operator must be applied to a map or variable", e.loc)
            return INT64
        if e.op == "&":
            t = self.expr(e.expr, scope)
            if isinstance(e.expr, ast.Variable) and t.kind != "none":
                return Ptr(t)
            self.error(f"The & operator can not be used on expressions of type '{t}'", e.loc)
            return INT64
        t = self.expr(e.expr, scope)
        if e.op == "*":
            if t.kind == "pointer" and t.elems and (t.elems[0].is_scalar or t.elems[0].is_aggregate):
                return t.elems[0]
            self.error(f"The * operator can not be used on expressions of type '{t}'", e.loc)
            return INT64
        if e.op == "!":
            if not _is_truthy(t):
                self.error(f"The ! operator can not be used on expressions of type '{t}'", e.loc)
            return BOOL
        if t.kind not in ("int", "bool"):
            self.error(f"The {e.op} operator can not be used on expressions of type '{t}'", e.loc)
        return Int(8, t.signed) if e.op == "~" else INT64

    def _builtin(self, e: ast.Builtin, scope: ProbeScope) -> TType:
        name, provider = e.name, scope.target.provider
        if name.startswith("arg") and name[3:].isdigit():
            if provider not in ARG_PROVIDERS:
                self.error(f"The {name} builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes",
                           e.loc)
            elif int(name[3:]) >= MAX_ARGS:
                self.error(f"{name} is not available: only arg0 to arg{MAX_ARGS - 1} are", e.loc)
            return UINT64
        if name == "retval" and provider not in RETVAL_PROVIDERS:
            self.error("The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' probes",
                       e.loc)
        if name == "args":
            if provider != "tracepoint" and scope.typed_args is None:
                self.error(f"The args builtin is not supported by purebpf trace for {provider} probes yet "
                           "(tracepoints only)", e.loc)
            return TType("args")
        if name == "func" and provider not in ("kprobe", "kretprobe", "uprobe", "uretprobe", "fentry", "fexit"):
            self.error("The func builtin can not be used with '" + provider + "' probes", e.loc)
        if name == "curtask":
            return Ptr(self.env.structs.find("task_struct") or TType("struct", 0, extra="task_struct"))
        t = BUILTIN_TYPES.get(name)
        if t is None:
            self.error(f"The {name} builtin is not supported by purebpf trace", e.loc)
            return INT64
        return t

    def _field(self, e: ast.FieldAccess, scope: ProbeScope) -> TType:
        base = e.expr
        if isinstance(base, ast.Unop) and base.op == "*":
            base = base.expr
        if isinstance(base, ast.Builtin) and base.name == "args":
            self.expr(base, scope)
            e.expr = base
            if scope.typed_args is not None:
                return self._typed_arg(e, scope.typed_args)
            f = scope.fields.get(e.field)
            if f is None:
                self.error(f"Can't find field {e.field} in args of {scope.target.name} "
                           f"(fields: {', '.join(scope.fields) or 'none'})", e.loc)
                return INT64
            if f.data_loc or (f.array_len and "char" in f.c_type):
                return Str(f.array_len or 64)
            if f.array_len:
                size, signed = f.int_type
                return Array(Int(size, signed), f.array_len)
            if f.is_pointer:
                inner = f.c_type.replace("const", "").replace("*", "").strip()
                if inner.startswith(("struct ", "union ")) and f.c_type.count("*") == 1:
                    found = self.env.structs.find(inner.split(None, 1)[1])
                    if found is not None:  # a typed pointer: its members can be read
                        return Ptr(found)
                if inner.endswith("*") or "char" in inner and f.c_type.count("*") > 1:
                    return Ptr(Ptr(Int(1, True)))
                return Ptr(Int(1, True) if "char" in inner else TType("void", 0))
            size, signed = f.int_type
            if f.c_type.startswith("enum "):  # prints as the enumerator's name (from the kernel's BTF)
                return TType("int", min(size, 8), signed, extra=f.c_type.split()[1])
            return Int(min(size, 8), signed)
        t = self.expr(e.expr, scope)
        if t.kind == "tuple":
            if e.field.isdigit() and not t.names:
                i = int(e.field)
                if i >= len(t.elems):
                    self.error(f"Invalid tuple index: {i}. Found {len(t.elems)} elements in tuple.", e.loc)
                    return INT64
                return t.elems[i]
            if e.field in t.names:
                return t.elems[t.names.index(e.field)]
            if t.names:
                self.error(f"Record does not contain a field named '{e.field}'", e.loc)
                return INT64
        if is_struct_pointer(t) or t.kind == "struct":
            return self._member(e, t.elems[0] if t.kind == "pointer" else t)
        self.error(f"Can not access field '{e.field}' on expression of type '{t}'", e.loc)
        return INT64

    def _typed_arg(self, e: ast.FieldAccess, typed: FunctionArgs) -> TType:
        found = typed.args.get(e.field)
        if found is None:
            self.error(f"Can't find function parameter {e.field} (parameters: {', '.join(typed.args) or 'none'})",
                       e.loc)
            return INT64
        e.ctx_offset = found[0]
        return found[1]

    def _member(self, e: ast.FieldAccess, struct: TType) -> TType:
        """``p->f``, ``p.f`` (a pointer is followed) and ``s.f``: the member's type, its place on the node."""
        member = self.env.structs.member(struct, e.field)
        if member is None:
            known = self.env.structs.layout(struct.extra) is not None
            self.error(f"Struct/union of type '{struct}' does not contain a field named '{e.field}'" if known
                       else f"Unknown struct/union: '{struct}' (not defined by the program nor in kernel BTF)",
                       e.loc)
            return INT64
        e.member = member
        return member.type

    def _index(self, e: ast.ArrayAccess, scope: ProbeScope) -> TType:
        t = self.expr(e.expr, scope)
        it = self.expr(e.index, scope)
        if it.kind != "int":
            self.error(f"The array index operator [] only takes an integer index ({it} given)", e.index.loc)
        if t.kind == "string":
            return Int(1, True)
        if t.kind == "array":
            return t.elems[0]
        if t.kind == "pointer" and t.elems and t.elems[0].kind in ("int", "pointer", "bool", "struct"):
            return t.elems[0]
        if t.kind == "tuple" and not t.names:
            index = self.const_int(e.index)
            if index is None or not 0 <= index < len(t.elems):
                self.error("Tuple index must be an integer literal in range", e.index.loc)
                return INT64
            e.index = ast.Integer(e.index.loc, index)
            return t.elems[index]
        self.error(f"The array index operator [] can not be used on expressions of type '{t}'", e.loc)
        return INT64

    def _cast(self, e: ast.Cast, scope: ProbeScope) -> TType:
        inner = self.expr(e.expr, scope)
        target = self.resolve_type(e.type_name, e.loc)
        if target is None:
            return INT64
        if target.kind == "array":
            elem = target.elems[0]
            if elem.kind not in ("int", "bool"):
                self.error(f"Cannot cast to \"{e.type_name}\"", e.loc)
                return INT64
            if target.size == 0:  # (int8[])"hello": the count from the value's size
                target = Array(elem, max(inner.size // max(elem.size, 1), 1))
            if inner.kind not in ("int", "string", "array") or inner.padded < target.size or (
                    inner.kind == "int" and inner.size != target.size):
                self.error(f"Cannot cast from \"{inner}\" to \"{target}\"", e.loc)
            return target
        if target.kind == "struct":
            self.error(f"Cannot cast to \"{e.type_name}\": cast to a pointer (\"{e.type_name} *\") and read "
                       "its members", e.loc)
            return INT64
        if inner.kind not in ("int", "bool", "pointer"):
            self.error(f"Cannot cast from \"{inner}\" to \"{e.type_name}\"", e.loc)
        return target

    def _sizeof(self, e: ast.Sizeof, scope: ProbeScope) -> TType:
        if isinstance(e.expr, ast.TypeOf) and e.expr.type_name:  # a macro argument typeof(T)
            e.type_name, e.expr = e.expr.type_name, None
        if isinstance(e.expr, ast.Identifier) and self._known_identifier(e.expr) is None \
                and self.env.structs.named_type(e.expr.name) is not None:  # sizeof(uint64_t): a BTF type name
            e.type_name, e.expr = e.expr.name, None
        if e.type_name is not None:
            t = self.resolve_type(e.type_name, e.loc)
        else:
            t = self.expr(e.expr, scope)
        e.size = 0 if t is None else t.size if t.kind in ("int", "bool", "string", "array", "struct") else t.padded
        return UINT64

    def _offsetof(self, e: ast.Offsetof) -> TType:
        t = self.resolve_type(e.type_name, e.loc)
        e.size = 0
        for name in e.fields:
            if t is None:
                return UINT64
            if t.kind != "struct":
                self.error(f"offsetof() needs a struct or union, not '{t}'", e.loc)
                return UINT64
            member = self.env.structs.member(t, name)
            if member is None:
                self.error(f"Struct/union of type '{t}' does not contain a field named '{name}'", e.loc)
                return UINT64
            e.size += member.offset
            t = member.type
        return UINT64

    # -- calls --------------------------------------------------------------------------

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
        if t.kind == "array":
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
        t = self.expr(e.args[0], scope)
        if len(e.args) == 2:
            t2 = self.expr(e.args[1], scope)
            if t2.kind != "int":
                self.error("str() length must be an integer", e.args[1].loc)
        if t.kind == "string":
            if len(e.args) == 2:
                n = self.const_int(e.args[1])
                if n is not None and n + 1 < t.size:
                    return Str(n + 1)
            return t
        if t.kind not in ("int", "pointer"):
            self.error(f"str() expects an integer or a pointer, not {t}", e.args[0].loc)
        if len(e.args) == 2:
            n = self.const_int(e.args[1])
            if n is not None:
                return Str(min(max(n, 0) + 1, 1024))
        return STRING

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
        mode, depth = "bpftrace", DEFAULT_STACK_DEPTH
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


def _ends_flow(stmt: ast.Stmt) -> bool:
    """``return``, ``break``, ``continue`` and ``exit()``: nothing after them in a block runs."""
    return isinstance(stmt, ast.Jump) or (isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Call)
                                          and stmt.expr.func == "exit")


def _key_text(t: TType) -> str:
    if t.kind == "tuple" and not t.names:
        return "(" + ",".join(str(x) for x in t.elems) + ")"
    return str(t)
