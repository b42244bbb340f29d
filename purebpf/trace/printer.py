"""Prints the tree one node a line, indented by depth, in the style of
``bpftrace -d`` ("AST after: parser"), for ``purebpf trace -d`` and tests."""

from __future__ import annotations

from purebpf.trace import ast


def dump(prog: ast.Program) -> str:
    out: list[str] = ["Program"]
    for item in prog.c_definitions:
        out.append(f" c_definition: {item.text.splitlines()[0]}")
    for probe in prog.probes:
        for ap in probe.attach_points:
            out.append(f" {ap.raw}")
        if probe.pred is not None:
            out.append("  pred")
            _expr(probe.pred, 3, out)
        _stmts(probe.body, 2, out)
    return "\n".join(out) + "\n"


def _line(depth: int, text: str, out: list[str]) -> None:
    out.append(" " * depth + text)


def _stmts(stmts: list[ast.Stmt], depth: int, out: list[str]) -> None:
    for stmt in stmts:
        _stmt(stmt, depth, out)


def _stmt(stmt: ast.Stmt, depth: int, out: list[str]) -> None:
    if isinstance(stmt, ast.ExprStmt):
        _expr(stmt.expr, depth, out)
    elif isinstance(stmt, ast.Assign):
        _line(depth, "=" if stmt.op is None else f"{stmt.op}=", out)
        _expr(stmt.target, depth + 1, out)
        _expr(stmt.value, depth + 1, out)
    elif isinstance(stmt, ast.VarDecl):
        _line(depth, f"let {stmt.var.name}" + (f": {stmt.type_name}" if stmt.type_name else ""), out)
        if stmt.value is not None:
            _expr(stmt.value, depth + 1, out)
    elif isinstance(stmt, ast.If):
        _line(depth, "if", out)
        _expr(stmt.cond, depth + 1, out)
        _line(depth + 1, "then", out)
        _stmts(stmt.then, depth + 2, out)
        if stmt.orelse:
            _line(depth + 1, "else", out)
            _stmts(stmt.orelse, depth + 2, out)
    elif isinstance(stmt, ast.Unroll):
        _line(depth, "unroll", out)
        _expr(stmt.count, depth + 1, out)
        _line(depth + 1, "block", out)
        _stmts(stmt.body, depth + 2, out)
    elif isinstance(stmt, ast.While):
        _line(depth, "while", out)
        _expr(stmt.cond, depth + 1, out)
        _line(depth + 1, "block", out)
        _stmts(stmt.body, depth + 2, out)
    elif isinstance(stmt, ast.For):
        _line(depth, "for", out)
        _expr(stmt.var, depth + 1, out)
        if stmt.map is not None:
            _expr(stmt.map, depth + 1, out)
        else:
            _line(depth + 1, "range", out)
            _expr(stmt.start, depth + 2, out)
            _expr(stmt.end, depth + 2, out)
        _line(depth + 1, "block", out)
        _stmts(stmt.body, depth + 2, out)
    elif isinstance(stmt, ast.Jump):
        _line(depth, stmt.kind, out)
        if stmt.value is not None:
            _expr(stmt.value, depth + 1, out)


def _expr(e: ast.Expr | None, depth: int, out: list[str]) -> None:
    if e is None:
        return
    if isinstance(e, ast.Integer):
        _line(depth, f"int: {e.value}", out)
    elif isinstance(e, ast.String):
        _line(depth, "string: " + e.value.encode("unicode_escape").decode(), out)
    elif isinstance(e, ast.Builtin):
        _line(depth, f"builtin: {e.name}", out)
    elif isinstance(e, ast.Identifier):
        _line(depth, f"identifier: {e.name}", out)
    elif isinstance(e, ast.PositionalParameter):
        _line(depth, f"param: ${e.index or '#'}", out)
    elif isinstance(e, ast.Variable):
        _line(depth, f"variable: {e.name}", out)
    elif isinstance(e, ast.Map):
        _line(depth, f"map: {e.name}", out)
        for k in e.keys:
            _expr(k, depth + 1, out)
    elif isinstance(e, ast.Call):
        _line(depth, f"call: {e.func}", out)
        for a in e.args:
            _expr(a, depth + 1, out)
    elif isinstance(e, ast.Binop):
        _line(depth, e.op, out)
        _expr(e.left, depth + 1, out)
        _expr(e.right, depth + 1, out)
    elif isinstance(e, ast.Unop):
        name = "dereference" if e.op == "*" else e.op
        _line(depth, f"{name} (post)" if e.postfix else name, out)
        _expr(e.expr, depth + 1, out)
    elif isinstance(e, ast.Ternary):
        _line(depth, "?:", out)
        _expr(e.cond, depth + 1, out)
        _expr(e.left, depth + 1, out)
        _expr(e.right, depth + 1, out)
    elif isinstance(e, ast.FieldAccess):
        _line(depth, ".", out)
        _expr(e.expr, depth + 1, out)
        _line(depth + 1, e.field, out)
    elif isinstance(e, ast.ArrayAccess):
        _line(depth, "[]", out)
        _expr(e.expr, depth + 1, out)
        _expr(e.index, depth + 1, out)
    elif isinstance(e, ast.Cast):
        _line(depth, f"({e.type_name})", out)
        _expr(e.expr, depth + 1, out)
    elif isinstance(e, ast.Tuple):
        _line(depth, "record:" if e.names else "tuple:", out)
        for i, el in enumerate(e.elems):
            if e.names:
                _line(depth + 1, f"{e.names[i]} =", out)
            _expr(el, depth + 1 + bool(e.names), out)
    elif isinstance(e, ast.Sizeof):
        _line(depth, f"sizeof: {e.type_name}" if e.type_name else "sizeof", out)
        _expr(e.expr, depth + 1, out)
    elif isinstance(e, ast.Offsetof):
        _line(depth, f"offsetof: {e.type_name} {'.'.join(e.fields)}", out)
    elif isinstance(e, ast.TypeOf):
        _line(depth, f"typeof: {e.type_name}", out)
    elif isinstance(e, ast.BlockExpr):
        _line(depth, "block", out)
        _stmts(e.stmts, depth + 1, out)
        _expr(e.value, depth + 1, out)
    elif isinstance(e, ast.IfExpr):
        _line(depth, "if", out)
        _expr(e.cond, depth + 1, out)
        _expr(e.then, depth + 1, out)
        _expr(e.orelse, depth + 1, out)
    else:  # pragma: no cover - a new node type without a printer
        _line(depth, type(e).__name__, out)
