"""Statements: blocks, variables and their scopes, assignments, loops, control flow; type names."""

from __future__ import annotations

from purebpf.trace import ast
from purebpf.trace.location import Location
from purebpf.trace.macros import variable_name
from purebpf.trace.semantic.base import SemanticBase
from purebpf.trace.semantic.scope import BUCKETED, INT_CASTS, ProbeScope, ends_flow, is_truthy, unify
from purebpf.trace.types import INT64, NONE, STRING, Array, Ptr, TType, Tup


class StatementsMixin(SemanticBase):
    def probe(self, probe: ast.Probe, scope: ProbeScope) -> None:
        if probe.pred is not None:
            t = self.expr(probe.pred, scope)
            if not is_truthy(t):
                self.error(f"Invalid type for predicate: {t}", probe.pred.loc)
        self.stmts(probe.body, scope)

    def stmts(self, stmts: list[ast.Stmt], scope: ProbeScope) -> None:
        for i, stmt in enumerate(stmts):
            self.stmt(stmt, scope)
            if i + 1 < len(stmts) and ends_flow(stmt):
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
            if not is_truthy(t):
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
                           f"when variable already contains a value of type '{scope.shown.get(target.name, old)}'", loc)
                return
            stored = common
        shown = scope.shown.get(target.name)
        scope.shown[target.name] = (unify(shown, vtype) or vtype) if shown is not None else vtype
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
