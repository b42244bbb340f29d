"""Semantic analysis: the type of every expression, the kind and layout of
every map, checks that builtins and functions are used where they can be.

Runs once per concrete probe (after expansion), because ``args`` and the
argument builtins mean different things on different probes.  Map types are
program-wide and accumulate across probes; errors become diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from purebpf.sys.tracepoint_format import TracepointField
from purebpf.trace import ast
from purebpf.trace.location import Diagnostics, Location
from purebpf.trace.printf import INT_CONVERSIONS, FormatError, parse_format
from purebpf.trace.probes import ProbeTarget
from purebpf.trace.types import COMM, INT64, NONE, STRING, UINT64, Int, Str, TType, Tup

AGGREGATIONS = ("count", "sum", "min", "max", "avg", "stats", "hist", "lhist")
INT_CASTS = {f"{p}int{n}": Int(n // 8, p == "") for p in ("", "u") for n in (8, 16, 32, 64)}
BUILTIN_TYPES = {
    "pid": UINT64, "tid": UINT64, "uid": UINT64, "gid": UINT64, "nsecs": UINT64, "elapsed": UINT64,
    "cpu": UINT64, "comm": COMM, "rand": UINT64, "curtask": UINT64, "cgroup": UINT64, "probe": STRING,
    "func": STRING, "retval": INT64, "numaid": UINT64, "jiffies": UINT64, "ncpus": UINT64,
}
ARG_PROVIDERS = ("kprobe", "uprobe")
RETVAL_PROVIDERS = ("kretprobe", "uretprobe", "fexit")
MAX_ARGS = 6  # x86_64 argument registers


@dataclass
class MapInfo:
    """What a ``@map`` holds, decided by how the program uses it."""
    name: str
    kind: str = ""                    # "int", "string", "tuple" or an aggregation name
    key: TType | None = None          # None: no keys (scalar map)
    value: TType = NONE
    lhist: tuple[int, int, int] = (0, 0, 0)  # min, max, step
    loc: Location | None = None

    @property
    def per_cpu(self) -> bool:
        return self.kind in AGGREGATIONS

    @property
    def key_size(self) -> int:
        size = self.key.padded if self.key is not None else 8
        return size + (8 if self.kind in ("hist", "lhist") else 0)

    @property
    def value_size(self) -> int:
        if self.kind in ("min", "max", "avg", "stats"):
            return 16
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
    variables: dict[str, TType] = field(default_factory=dict)


def unify(a: TType, b: TType) -> TType | None:
    """The common type two values can both be stored as, or None."""
    if a.kind != b.kind:
        return None
    if a.kind == "int":
        return Int(8, a.signed or b.signed)
    if a.kind == "string":
        return Str(max(a.size, b.size))
    if a.kind == "tuple":
        if len(a.elems) != len(b.elems):
            return None
        elems = [unify(x, y) for x, y in zip(a.elems, b.elems, strict=True)]
        if any(e is None for e in elems):
            return None
        return Tup(elems, list(a.names))  # type: ignore[arg-type]
    return a if a == b else None


def storage_type(t: TType) -> TType:
    """Integers are stored as 64-bit in maps and variables, as bpftrace does."""
    if t.kind == "int":
        return Int(8, t.signed)
    if t.kind == "tuple":
        return Tup([storage_type(e) for e in t.elems], list(t.names))
    return t


class Semantic:
    def __init__(self, diags: Diagnostics) -> None:
        self.diags = diags
        self.maps: dict[str, MapInfo] = {}

    def error(self, message: str, loc: Location) -> None:
        self.diags.error(message, loc)

    # -- maps ---------------------------------------------------------------------

    def map_info(self, node: ast.Map) -> MapInfo:
        info = self.maps.get(node.name)
        if info is None:
            info = self.maps[node.name] = MapInfo(node.name, loc=node.loc)
        return info

    def _map_keys(self, node: ast.Map, scope: ProbeScope) -> None:
        info = self.map_info(node)
        if not node.keys:
            key = None
        else:
            types = [storage_type(self.expr(k, scope)) for k in node.keys]
            key = types[0] if len(types) == 1 else Tup(types)
        if info.key is None and key is not None and info.kind == "" and not getattr(info, "_keys_seen", False):
            info.key = key
        elif (info.key is None) != (key is None) and getattr(info, "_keys_seen", False):
            self.error(f"Argument mismatch for {node.name}: trying to access with "
                       f"{'no arguments' if key is None else 'arguments'} when map expects "
                       f"{'no arguments' if info.key is None else 'arguments'}", node.loc)
        elif key is not None and info.key is not None:
            common = unify(info.key, key)
            if common is None:
                self.error(f"Argument mismatch for {node.name}: trying to access with arguments: "
                           f"[{key}] when map expects arguments: [{info.key}]", node.loc)
            else:
                info.key = common
        elif key is not None:
            info.key = key
        info._keys_seen = True  # type: ignore[attr-defined]

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
        kind = vtype.kind if vtype.kind in ("int", "string", "tuple") else "int"
        stored = storage_type(vtype)
        common = unify(info.value, stored) if info.kind == kind else (stored if not info.kind else None)
        if common is None:
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type '{vtype}' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        info.kind, info.value = kind, common
        target.type = common

    def _aggregation(self, info: MapInfo, target: ast.Map, call: ast.Call, scope: ProbeScope) -> None:
        func = call.func
        want = {"count": 0, "sum": 1, "min": 1, "max": 1, "avg": 1, "stats": 1, "hist": 1, "lhist": 4}[func]
        if len(call.args) != want:
            words = {0: "no arguments", 1: "one argument", 4: "four arguments"}[want]
            self.error(f"{func}() requires {words} ({len(call.args)} provided)", call.loc)
            return
        for arg in call.args:
            t = self.expr(arg, scope)
            if t.kind != "int":
                self.error(f"{func}() only supports integer arguments ({t} provided)", arg.loc)
        if func == "lhist":
            consts = []
            for arg, what in zip(call.args[1:], ("min", "max", "step"), strict=True):
                if not isinstance(arg, ast.Integer):
                    self.error(f"lhist() {what} must be an integer literal", arg.loc)
                    return
                consts.append(arg.value)
            lo, hi, step = consts
            if step <= 0 or hi <= lo:
                self.error("lhist() step must be >= 1 and max must be larger than min", call.loc)
                return
            if info.kind == "lhist" and info.lhist != (lo, hi, step):
                self.error(f"Type mismatch for {info.name}: lhist() arguments differ", call.loc)
            info.lhist = (lo, hi, step)
        if info.kind and info.kind != func:
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type '{func}' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        info.kind = func
        info.value = INT64 if func != "count" else UINT64
        call.type = NONE

    # -- statements -----------------------------------------------------------------

    def probe(self, probe: ast.Probe, scope: ProbeScope) -> None:
        if probe.pred is not None:
            t = self.expr(probe.pred, scope)
            if t.kind != "int":
                self.error(f"Invalid type for predicate: {t}", probe.pred.loc)
        self.stmts(probe.body, scope)

    def stmts(self, stmts: list[ast.Stmt], scope: ProbeScope) -> None:
        for stmt in stmts:
            self.stmt(stmt, scope)

    def stmt(self, stmt: ast.Stmt, scope: ProbeScope) -> None:
        if isinstance(stmt, ast.ExprStmt):
            self.expr(stmt.expr, scope, statement=True)
        elif isinstance(stmt, ast.Assign):
            self.assign(stmt, scope)
        elif isinstance(stmt, ast.VarDecl):
            if stmt.value is not None:
                self.assign(ast.Assign(stmt.loc, stmt.var, stmt.value), scope)
            elif stmt.type_name and stmt.type_name in INT_CASTS:
                scope.variables.setdefault(stmt.var.name, storage_type(INT_CASTS[stmt.type_name]))
        elif isinstance(stmt, ast.If):
            self.expr(stmt.cond, scope)
            self.stmts(stmt.then, scope)
            self.stmts(stmt.orelse, scope)
        elif isinstance(stmt, ast.Unroll):
            if not isinstance(stmt.count, ast.Integer) or not 1 <= stmt.count.value <= 100:
                self.error("unroll maximum value is 100 and minimum is 1", stmt.count.loc)
            self.stmts(stmt.body, scope)
        elif isinstance(stmt, ast.While):
            self.expr(stmt.cond, scope)
            self.stmts(stmt.body, scope)
        elif isinstance(stmt, ast.Jump):
            if stmt.value is not None:
                self.expr(stmt.value, scope)
        else:
            self.error(f"{type(stmt).__name__} statements are not supported yet", stmt.loc)

    def assign(self, stmt: ast.Assign, scope: ProbeScope) -> None:
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
            stored = storage_type(vtype)
            old = scope.variables.get(target.name)
            if old is not None:
                common = unify(old, stored)
                if common is None:
                    self.error(f"Type mismatch for {target.name}: trying to assign value of type '{vtype}' "
                               f"when variable already contains a value of type '{old}'", stmt.loc)
                    return
                stored = common
            scope.variables[target.name] = stored
            target.type = stored
        else:
            self.error("Only maps and variables can be assigned to", target.loc)

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
        if isinstance(e, ast.PositionalParameter):
            return INT64
        if isinstance(e, ast.Variable):
            t = scope.variables.get(e.name)
            if t is None:
                self.error(f"Undefined or undeclared variable: {e.name}", e.loc)
                return INT64
            return t
        if isinstance(e, ast.Map):
            self._map_keys(e, scope)
            info = self.map_info(e)
            if not info.kind:
                self.error(f"Undefined map: {e.name}", e.loc)
                return INT64
            if info.kind in ("hist", "lhist", "stats"):
                return NONE
            return info.value
        if isinstance(e, ast.Binop):
            return self._binop(e, scope)
        if isinstance(e, ast.Unop):
            if e.op in ("++", "--"):
                if isinstance(e.expr, ast.Map) and not self.map_info(e.expr).kind:
                    self.map_info(e.expr).kind, self.map_info(e.expr).value = "int", INT64
                elif not isinstance(e.expr, (ast.Variable, ast.Map)):
                    self.error(f"The {e.op} operator must be applied to a map or variable", e.loc)
                self.expr(e.expr, scope)
                return INT64
            t = self.expr(e.expr, scope)
            if t.kind != "int":
                self.error(f"The {e.op} operator can not be used on expressions of type '{t}'", e.loc)
            return Int(8, e.op != "!" and t.signed) if e.op != "-" else INT64
        if isinstance(e, ast.Ternary):
            self.expr(e.cond, scope)
            left = self.expr(e.left, scope) if e.left is not None else e.cond.type
            right = self.expr(e.right, scope)
            common = unify(storage_type(left), storage_type(right))
            if common is None:
                self.error(f"Ternary operator must return the same type: have '{left}' and '{right}'", e.loc)
                return left
            return common
        if isinstance(e, ast.Tuple):
            return Tup([storage_type(self.expr(x, scope)) for x in e.elems], e.names)
        if isinstance(e, ast.FieldAccess):
            return self._field(e, scope)
        if isinstance(e, ast.Cast):
            inner = self.expr(e.expr, scope)
            target = INT_CASTS.get(e.type_name)
            if target is None:
                self.error(f"Cannot resolve unknown type \"{e.type_name}\"", e.loc)
                return INT64
            if inner.kind != "int":
                self.error(f"Cannot cast from \"{inner}\" to \"{e.type_name}\"", e.loc)
            return target
        if isinstance(e, ast.Call):
            return self._call(e, scope, statement)
        self.error(f"{type(e).__name__} expressions are not supported yet", e.loc)
        return INT64

    def _binop(self, e: ast.Binop, scope: ProbeScope) -> TType:
        left, right = self.expr(e.left, scope), self.expr(e.right, scope)
        if e.op in ("==", "!=") and left.kind == "string" and right.kind == "string":
            return Int(8, False)
        if left.kind != "int" or right.kind != "int":
            self.error(f"Type mismatch for '{e.op}': comparing '{left}' with '{right}'", e.loc)
            return INT64
        if e.op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
            return Int(8, False)
        return Int(8, left.signed and right.signed if e.op in ("+", "-", "*") else left.signed)

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
            if provider != "tracepoint":
                self.error("The args builtin can only be used with tracepoint/fentry/uprobe probes "
                           f"({provider} used here)", e.loc)
            return TType("args")
        if name == "func" and provider not in ("kprobe", "kretprobe", "uprobe", "uretprobe", "fentry", "fexit"):
            self.error("The func builtin can not be used with '" + provider + "' probes", e.loc)
        t = BUILTIN_TYPES.get(name)
        if t is None:
            self.error(f"The {name} builtin is not supported yet", e.loc)
            return INT64
        return t

    def _field(self, e: ast.FieldAccess, scope: ProbeScope) -> TType:
        base = e.expr
        if isinstance(base, ast.Unop) and base.op == "*":
            base = base.expr
        if isinstance(base, ast.Builtin) and base.name == "args":
            self.expr(base, scope)
            f = scope.fields.get(e.field)
            if f is None:
                self.error(f"Can't find field {e.field} in args of {scope.target.name} "
                           f"(fields: {', '.join(scope.fields) or 'none'})", e.loc)
                return INT64
            if f.data_loc or (f.array_len and "char" in f.c_type):
                return Str(f.array_len or 64)
            size, signed = f.int_type
            return Int(min(size, 8), signed)
        t = self.expr(base, scope)
        if t.kind == "tuple":
            if e.field.isdigit():
                i = int(e.field)
                if i >= len(t.elems):
                    self.error(f"Invalid tuple index: {i}. Found {len(t.elems)} elements in tuple.", e.loc)
                    return INT64
                return t.elems[i]
            if e.field in t.names:
                return t.elems[t.names.index(e.field)]
        self.error(f"Can not access field '{e.field}' on expression of type '{t}'", e.loc)
        return INT64

    def _call(self, e: ast.Call, scope: ProbeScope, statement: bool) -> TType:
        func, args = e.func, e.args
        if func in AGGREGATIONS:
            self.error(f"{func}() should be directly assigned to a map", e.loc)
            return NONE
        if func == "printf":
            if not args or not isinstance(args[0], ast.String):
                self.error("printf() requires a string literal as its first argument", e.loc)
                return NONE
            self._printf_args(e, scope)
            return NONE
        if func == "print":
            if len(args) != 1:
                self.error("print() requires 1 argument", e.loc)
                return NONE
            if isinstance(args[0], ast.Map) and not args[0].keys:
                if args[0].name not in self.maps:
                    self.error(f"Undefined map: {args[0].name}", e.loc)
                return NONE
            self.expr(args[0], scope)
            return NONE
        if func in ("clear", "zero"):
            if len(args) != 1 or not isinstance(args[0], ast.Map) or args[0].keys:
                self.error(f"{func}() expects a map without keys as its argument", e.loc)
            return NONE
        if func == "delete":
            if len(args) == 2 and isinstance(args[0], ast.Map):
                args[:] = [ast.Map(args[0].loc, args[0].name, [args[1]])]
            if len(args) != 1 or not isinstance(args[0], ast.Map):
                self.error("delete() expects a map element such as @m[key]", e.loc)
                return NONE
            self._map_keys(args[0], scope)
            return NONE
        if func == "exit":
            for a in args:
                self.expr(a, scope)
            return NONE
        if func == "str":
            if not 1 <= len(args) <= 2:
                self.error("str() requires 1 or 2 arguments", e.loc)
                return STRING
            t = self.expr(args[0], scope)
            if t.kind == "string":
                return t
            if t.kind != "int":
                self.error(f"str() expects an integer or a pointer, not {t}", args[0].loc)
            if len(args) == 2:
                if not isinstance(args[1], ast.Integer) or not 1 <= args[1].value <= 200:
                    self.error("str() length must be an integer literal from 1 to 200", args[1].loc)
                    return STRING
                return Str(args[1].value + 1 if args[1].value < 64 else 64)
            return STRING
        self.error(f"Unknown function: {func}", Location(e.loc.line, e.loc.col, e.loc.col + len(func)))
        return NONE

    def _printf_args(self, e: ast.Call, scope: ProbeScope) -> None:
        try:
            fmt = parse_format(e.args[0].value)
        except FormatError as exc:
            self.error(f"printf: {exc}", e.loc)
            return
        supplied, expected = len(e.args) - 1, len(fmt.conversions)
        if supplied < expected:
            self.error(f"printf: Not enough arguments for format string ({supplied} supplied, "
                       f"{expected} expected)", e.loc)
        elif supplied > expected:
            self.error(f"printf: Too many arguments for format string ({supplied} supplied, "
                       f"{expected} expected)", e.loc)
        for a, conv in zip(e.args[1:], fmt.conversions, strict=False):
            t = self.expr(a, scope)
            if t.kind == "none":
                self.error("printf: argument has no value", a.loc)
            elif conv.conv in INT_CONVERSIONS and t.kind != "int":
                self.error(f"printf: %{conv.conv} specifier expects a value of type integer ({t.kind} supplied)",
                           e.loc)
            elif conv.conv == "s" and t.kind not in ("string", "int", "tuple"):
                self.error(f"printf: %s specifier expects a value of type string ({t.kind} supplied)", e.loc)
