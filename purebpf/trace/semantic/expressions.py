"""Expressions: the type of each, operators, builtins, struct members, casts, sizeof/offsetof."""

from __future__ import annotations

from purebpf.trace import ast
from purebpf.trace.macros import variable_name
from purebpf.trace.semantic.base import SemanticBase
from purebpf.trace.semantic.scope import (
    ARG_PROVIDERS,
    BUCKETED,
    BUILTIN_TYPES,
    DEFAULT_STACK_DEPTH,
    MAX_ARGS,
    RETVAL_PROVIDERS,
    ProbeScope,
    is_truthy,
    unify,
)
from purebpf.trace.structs import FunctionArgs, is_struct_pointer
from purebpf.trace.types import BOOL, INT64, NONE, UINT64, Array, Int, Ptr, Str, TType, Tup, literal_type


class ExpressionsMixin(SemanticBase):
    def expr(self, e: ast.Expr, scope: ProbeScope, statement: bool = False) -> TType:
        t = self._expr(e, scope, statement)
        e.type = t
        return t

    def _expr(self, e: ast.Expr, scope: ProbeScope, statement: bool) -> TType:
        if isinstance(e, ast.Integer):
            if not -(1 << 63) <= e.value < (1 << 64):
                self.error(f"integer {e.value} does not fit in 64 bits", e.loc)
            return literal_type(e.value)
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
            return Tup([self.field_type(t) for t in elems], e.names)
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
                if not is_truthy(t):
                    self.error(f"Invalid operand type for '{e.op}': {t}", side.loc)
            return BOOL
        if e.op in ("==", "!=") and left.kind in ("string", "buffer") and right.kind == left.kind:
            return BOOL
        if left.kind == "array" or right.kind == "array":
            return self._array_compare(e, left, right)
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

    def _array_compare(self, e: ast.Binop, left: TType, right: TType) -> TType:
        """Arrays compare element by element, as bpftrace does: only == and !=, only arrays of one
        integer type and length."""
        if e.op not in ("==", "!="):
            self.error(f"The {e.op} operator can not be used on arrays: only == and != compare them", e.loc)
        elif left.kind != right.kind or left.count != right.count:
            self.error(f"Only arrays of same size support comparison operators: comparing '{left}' with "
                       f"'{right}'", e.loc)
        elif not _integer_array(left) or left.elems[0] != right.elems[0]:
            self.error(f"Only arrays of same sized integer support comparison operators: comparing '{left}' with "
                       f"'{right}'", e.loc)
        return BOOL

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
            if not is_truthy(t):
                self.error(f"The ! operator can not be used on expressions of type '{t}'", e.loc)
            return BOOL
        if t.kind not in ("int", "bool"):
            self.error(f"The {e.op} operator can not be used on expressions of type '{t}'", e.loc)
        return Int(8, t.signed) if e.op == "~" else INT64

    def _builtin(self, e: ast.Builtin, scope: ProbeScope) -> TType:
        name, provider = e.name, scope.target.provider
        if name.startswith("arg") and name[3:].isdigit():
            if provider not in ARG_PROVIDERS and provider != "rawtracepoint":
                self.error(f"The {name} builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes",
                           e.loc)
            elif provider == "usdt":  # read by the note's spec, sign-extended: bpftrace types them int64
                return INT64
            elif int(name[3:]) >= MAX_ARGS:
                self.error(f"{name} is not available: only arg0 to arg{MAX_ARGS - 1} are", e.loc)
            return UINT64
        if name == "retval" and provider not in RETVAL_PROVIDERS:
            self.error("The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' probes",
                       e.loc)
        if name == "args":
            if provider != "tracepoint" and (scope.typed_args is None or scope.no_args):
                self.error(scope.no_args or f"The args builtin is not supported by purebpf trace for {provider} "
                           "probes", e.loc)
            if scope.typed_args is not None:  # typed parameters (BTF, DWARF): a record of them
                typed = scope.typed_args.args
                return Tup([t for _, t in typed.values()], list(typed))
            return TType("args")
        if name == "func" and provider not in ("kprobe", "kretprobe", "uprobe", "uretprobe", "fentry", "fexit"):
            self.error("The func builtin can not be used with '" + provider + "' probes", e.loc)
        if name == "curtask":
            return Ptr(self.env.structs.find("task_struct") or TType("struct", 0, extra="task_struct"))
        if name == "probe" and provider == "usdt":  # usdt:/a/long/path:provider:name is not cut short
            return Str(max(BUILTIN_TYPES[name].size, len(scope.target.name.encode()) + 1))
        if name == "ctx" and provider == "iter":  # struct bpf_iter__<target> *: ctx.task, ctx.file, ctx.vma...
            found = self.env.structs.find(f"bpf_iter__{scope.target.target}")
            return Ptr(found) if found is not None else Ptr(TType("void", 0))
        if name in ("kstack", "ustack") and self.env.stack_mode != "bpftrace":  # config / BPFTRACE_STACK_MODE
            return TType(name, extra=f"{self.env.stack_mode}:{DEFAULT_STACK_DEPTH}")
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
            if f is None and scope.target.provider != "tracepoint":
                return INT64  # the args builtin was reported as not available here already
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
        if found is None and e.field in typed.refused:
            self.error(typed.refused[e.field], e.loc)
            return INT64
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
            index = self.const_int(e.index)
            # a zero-length array (``int y[0]``, a flexible array member) is read as C does, unchecked
            if index is not None and t.count and not 0 <= index < t.count:
                self.error(f"the index {index} is out of bounds for array of size {t.count}", e.loc)
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
            if inner.kind == "int" and isinstance(e.expr, ast.Integer):  # a literal takes the array's size
                inner = Int(target.size if target.size in (1, 2, 4, 8) else 8, inner.signed)
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
        value = self.const_int(e.expr) if isinstance(e.expr, (ast.Integer, ast.Unop)) else None
        if target.kind == "pointer" and value is not None and value < 0:
            # as bpftrace: a literal has the smallest type that holds it (-1 is an int8), and an integer
            # becomes a pointer zero-extended, so (uint8 *)-1 is 0xff
            width = next(bits for bits in (8, 16, 32, 64) if value >= -(1 << (bits - 1)))
            e.expr = ast.Integer(e.expr.loc, value & ((1 << width) - 1))
            e.expr.type = self.expr(e.expr, scope)
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
            if isinstance(e.expr, ast.Variable):  # held in a 64-bit slot, sized as its bpftrace type
                t = scope.shown.get(e.expr.name, t)
        e.size = 0 if t is None else t.size if t.kind in ("int", "bool", "string", "array", "struct", "tuple") \
            else t.padded
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


def _integer_array(t: TType) -> bool:
    """An array of integers (or of such arrays): equal when their bytes are."""
    while t.kind == "array":
        t = t.elems[0]
    return t.kind in ("int", "bool")
