"""Desugaring before semantic analysis: macro expansion and builtin spellings.

A macro call ``m(a, $b, @c)`` becomes the macro's block expression with
``$b``/``@c`` renamed to the caller's variable and map (so the macro can
change them), every use of ``a`` replaced by a copy of the argument
expression (evaluated at each use, as bpftrace does), and the macro's own
variables renamed so they cannot clash with the caller's.

Builtins may also be written as calls (``comm()``) or with the
``__builtin_`` prefix; both become plain :class:`ast.Builtin` nodes here.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from purebpf.trace import ast
from purebpf.trace.location import Diagnostics

MAX_DEPTH = 64
BUILTIN_PREFIX = "__builtin_"


def _builtin_name(name: str) -> str | None:
    if name.startswith(BUILTIN_PREFIX) and name[len(BUILTIN_PREFIX):] in ast.BUILTINS:
        return name[len(BUILTIN_PREFIX):]
    return None


class Expander:
    def __init__(self, prog: ast.Program, diags: Diagnostics) -> None:
        self.macros = {(m.name, len(m.params)): m for m in prog.macros}
        self.diags = diags
        self.counter = itertools.count(1)
        self.depth = 0

    # -- generic tree rewriting ---------------------------------------------------------

    def rewrite(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.rewrite(n) for n in node]
        if isinstance(node, ast.Expr):
            return self.expr(node)
        if isinstance(node, (ast.Stmt, ast.Probe)):
            self.children(node)
        return node

    def children(self, node: Any) -> None:
        for name in node.__dataclass_fields__:
            if name in ("loc", "type"):
                continue
            value = getattr(node, name)
            if isinstance(value, (list, ast.Expr, ast.Stmt)):
                setattr(node, name, self.rewrite(value))

    def expr(self, e: ast.Expr) -> ast.Expr:
        if isinstance(e, ast.Builtin):
            real = _builtin_name(e.name)
            return ast.Builtin(e.loc, real) if real else e
        if isinstance(e, ast.Identifier):
            real = _builtin_name(e.name)
            if real:
                return ast.Builtin(e.loc, real)
            macro = self.macros.get((e.name, 0))
            if macro is not None:
                return self.expand(macro, [], e)
            return e
        self.children(e)
        if isinstance(e, ast.Call):
            macro = self.macros.get((e.func, len(e.args)))
            if macro is not None:
                return self.expand(macro, e.args, e)
            real = _builtin_name(e.func) or (e.func if e.func in ast.BUILTINS else None)
            if real and not e.args:
                return ast.Builtin(e.loc, real)
        return e

    # -- macro expansion ----------------------------------------------------------------

    def expand(self, macro: ast.Macro, args: list[ast.Expr], call: ast.Expr) -> ast.Expr:
        if self.depth >= MAX_DEPTH:
            self.diags.error(f"Macro recursion limit reached expanding {macro.name}()", call.loc)
            return ast.Integer(call.loc, 0)
        renames: dict[str, str] = {}
        exprs: dict[str, ast.Expr] = {}
        for param, arg in zip(macro.params, args, strict=True):
            if param.startswith("$"):
                if not isinstance(arg, ast.Variable):
                    self.diags.error(f"Mismatched arg to macro call {macro.name}(): expected a variable "
                                     f"for {param}", arg.loc)
                    return ast.Integer(call.loc, 0)
                renames[param] = arg.name
            elif param.startswith("@"):
                if not isinstance(arg, ast.Map) or arg.keys:
                    self.diags.error(f"Mismatched arg to macro call {macro.name}(): expected a map for {param}",
                                     arg.loc)
                    return ast.Integer(call.loc, 0)
                renames[param] = arg.name
            else:
                exprs[param] = arg
        suffix = f"__{macro.name}_{next(self.counter)}"
        body = copy.deepcopy(macro.body)
        body = _Substitute(renames, exprs, suffix).expr(body)
        body.loc = call.loc
        if not body.stmts and body.value is not None:
            body = body.value  # a macro that is one expression expands to that expression
        self.depth += 1
        try:
            return self.expr(body)
        finally:
            self.depth -= 1


class _Substitute:
    """Renames and replacements inside one copy of a macro body."""

    def __init__(self, renames: dict[str, str], exprs: dict[str, ast.Expr], suffix: str) -> None:
        self.renames = renames
        self.exprs = exprs
        self.suffix = suffix

    def node(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.node(n) for n in node]
        if isinstance(node, ast.Expr):
            return self.expr(node)
        if isinstance(node, ast.Stmt):
            self.children(node)
        return node

    def children(self, node: Any) -> None:
        for name in node.__dataclass_fields__:
            if name in ("loc", "type"):
                continue
            value = getattr(node, name)
            if isinstance(value, (list, ast.Expr, ast.Stmt)):
                setattr(node, name, self.node(value))

    def expr(self, e: ast.Expr) -> ast.Expr:
        if isinstance(e, ast.Identifier) and e.name in self.exprs:
            return copy.deepcopy(self.exprs[e.name])
        if isinstance(e, ast.Variable):
            e.name = self.renames.get(e.name) or e.name + self.suffix
            return e
        if isinstance(e, ast.Map) and e.name in self.renames:
            e.name = self.renames[e.name]
        if isinstance(e, ast.TypeOf) and e.type_name:
            inner = e.type_name[len("typeof("):-1] if e.type_name.startswith("typeof(") else ""
            if inner in self.exprs:
                bound = self.exprs[inner]
                return copy.deepcopy(bound)
        self.children(e)
        return e


def _scope_loop_variables(node: Any, counter: itertools.count) -> None:
    """A ``for`` loop's variable exists only in its body: give it a name of its own there,
    so two loops may use ``$kv`` for values of different types."""
    for n in list(ast.walk(node)):
        if isinstance(n, ast.For):
            old, new = n.var.name, f"{n.var.name}.{next(counter)}"
            n.var.name = new
            for inner in ast.walk(n.body):
                if isinstance(inner, ast.Variable) and inner.name == old:
                    inner.name = new


def expand(prog: ast.Program, diags: Diagnostics) -> None:
    """Rewrite ``prog``'s probes in place."""
    expander = Expander(prog, diags)
    for probe in prog.probes:
        if probe.pred is not None:
            probe.pred = expander.expr(probe.pred)
        probe.body = expander.rewrite(probe.body)
        _scope_loop_variables(probe.body, expander.counter)
