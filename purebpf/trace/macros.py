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
import dataclasses
import itertools
import re
from typing import Any

from purebpf.trace import ast
from purebpf.trace.config import Config
from purebpf.trace.location import Diagnostics, Location

MAX_DEPTH = 64
BUILTIN_PREFIX = "__builtin_"


def _builtin_name(name: str) -> str | None:
    if name.startswith(BUILTIN_PREFIX) and name[len(BUILTIN_PREFIX):] in ast.BUILTINS:
        return name[len(BUILTIN_PREFIX):]
    return None


def _stdlib_macro(e: ast.Call) -> ast.Expr | None:
    """The macros of bpftrace's standard library, written out as the expressions they stand for."""
    loc = e.loc
    if e.func == "ppid" and len(e.args) == 1:  # a task's parent's pid
        parent = ast.FieldAccess(loc, ast.Unop(loc, "*", e.args[0]), "real_parent")
        return ast.FieldAccess(loc, ast.Unop(loc, "*", parent), "tgid")
    if e.func == "assert" and len(e.args) == 2 and isinstance(e.args[1], ast.String):
        # a failed assertion names itself at the call, then ends the program with status 1
        fail = [ast.ExprStmt(loc, ast.Call(loc, "errorf", [ast.String(loc, "assert failed: %s"), e.args[1]])),
                ast.ExprStmt(loc, ast.Call(loc, "exit", [ast.Integer(loc, 1)]))]
        return ast.IfExpr(loc, ast.Unop(loc, "!", e.args[0]), ast.BlockExpr(loc, fail, None), None)
    if e.func in TASK_COMMS and not e.args:  # the parent's / the thread group leader's name
        task = ast.FieldAccess(loc, ast.Unop(loc, "*", ast.Builtin(loc, "curtask")), TASK_COMMS[e.func])
        return ast.FieldAccess(loc, ast.Unop(loc, "*", task), "comm")
    if e.func == "container_of" and len(e.args) == 3:
        return _container_of(e)
    if e.func == "is_err" and len(e.args) == 1:  # the kernel's IS_ERR(): a pointer holding -MAX_ERRNO..-1
        value = ast.Cast(loc, "int64", e.args[0])
        return ast.Binop(loc, "&&", ast.Binop(loc, ">=", value, ast.Integer(loc, -4095)),
                         ast.Binop(loc, "<", ast.Cast(loc, "int64", e.args[0]), ast.Integer(loc, 0)))
    return None


# stdlib names for a task's comm reached through one pointer of the current task
TASK_COMMS = {"pcomm": "real_parent", "leader_comm": "group_leader"}


def _member_path(e: ast.Expr) -> list[str] | None:
    """``m`` or ``a.b.c`` written as a member designator."""
    if isinstance(e, (ast.Identifier, ast.Builtin)):
        return [e.name]
    if isinstance(e, ast.FieldAccess):
        inner = _member_path(e.expr)
        return None if inner is None else inner + [e.field]
    return None


def _container_of(e: ast.Call) -> ast.Expr | None:
    """``container_of(ptr, type, member)``: the address of the ``type`` whose ``member`` ``ptr`` points at."""
    ptr, typ, member = e.args
    if not isinstance(typ, ast.TypeOf) or not typ.type_name:
        return None
    name = typ.type_name
    if name.startswith("typeof(") and name.endswith(")"):
        name = name[len("typeof("):-1].strip()
    fields = _member_path(member)
    if fields is None:
        return None
    loc = e.loc
    base = ast.Binop(loc, "-", ast.Cast(loc, "uint8 *", ptr), ast.Offsetof(loc, name, fields))
    return ast.Cast(loc, name + " *", base)


class _Rewriter:
    """A walk that replaces expressions (``expr`` returns the node to put in its place) and goes
    into statements and probes, field by field; ``enter`` sees each statement first."""

    def visit(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.visit(n) for n in node]
        if isinstance(node, ast.Expr):
            return self.expr(node)
        if isinstance(node, (ast.Stmt, ast.Probe)):
            self.enter(node)
            self.children(node)
        return node

    def enter(self, node: ast.Stmt | ast.Probe) -> None:
        pass

    def children(self, node: Any) -> None:
        for name in node.__dataclass_fields__:
            if name in ("loc", "type"):
                continue
            value = getattr(node, name)
            if isinstance(value, (list, ast.Expr, ast.Stmt)):
                setattr(node, name, self.visit(value))

    def expr(self, e: ast.Expr) -> ast.Expr:
        raise NotImplementedError


class Expander(_Rewriter):
    def __init__(self, prog: ast.Program, diags: Diagnostics, config: Config) -> None:
        self.config = config
        self.macros = {(m.name, len(m.params)): m for m in prog.macros}
        self.diags = diags
        self.counter = itertools.count(1)
        self.depth = 0

    # -- generic tree rewriting ---------------------------------------------------------

    def config_record(self, loc) -> ast.Tuple:
        """``config()``: the program's options as a record of constants."""
        c = self.config
        values = {"max_strlen": c.max_strlen, "print_maps_on_exit": int(c.print_maps_on_exit),
                  "missing_probes": c.missing_probes, "license": c.license,
                  # options bpftrace has that purebpf trace does not change: their fixed values here
                  "stack_mode": "bpftrace", "cpp_demangle": 1, "lazy_symbolication": 0, "show_debug_info": 1}
        return ast.Tuple(loc, [ast.String(loc, v) if isinstance(v, str) else ast.Integer(loc, v)
                               for v in values.values()], list(values))

    def expr(self, e: ast.Expr) -> ast.Expr:
        if isinstance(e, ast.Builtin):
            if e.name == "config":
                return self.config_record(e.loc)
            real = _builtin_name(e.name)
            return ast.Builtin(e.loc, real) if real else e
        if isinstance(e, ast.Identifier):
            real = _builtin_name(e.name)
            if real == "config":
                return self.config_record(e.loc)
            if real:
                return ast.Builtin(e.loc, real)
            macro = self.macros.get((e.name, 0))
            if macro is not None:
                return self.expand(macro, [], e)
            if e.name in TASK_COMMS:
                return _stdlib_macro(ast.Call(e.loc, e.name, []))
            return e
        self.children(e)
        if isinstance(e, ast.Call):
            macro = self.macros.get((e.func, len(e.args)))
            if macro is not None:
                return self.expand(macro, e.args, e)
            real = _builtin_name(e.func) or (e.func if e.func in ast.BUILTINS else None)
            if real == "config" and not e.args:
                return self.config_record(e.loc)
            if real and not e.args:
                return ast.Builtin(e.loc, real)
            return _stdlib_macro(e) or e
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
        _mark_expansion(body, call.loc)
        body = _Substitute(renames, exprs, suffix).expr(body)
        body.loc = call.loc
        if not body.stmts and body.value is not None:
            body = body.value  # a macro that is one expression expands to that expression
        self.depth += 1
        try:
            return self.expr(body)
        finally:
            self.depth -= 1


def _mark_expansion(body: ast.Expr, call: Location) -> None:
    """Each node of a macro body copy remembers the call it was expanded from (diagnostics show the chain)."""
    for node in ast.walk(body):
        loc = getattr(node, "loc", None)
        if isinstance(loc, Location) and loc.expanded_from is None:
            node.loc = dataclasses.replace(loc, expanded_from=call)


class _Substitute(_Rewriter):
    """Renames and replacements inside one copy of a macro body."""

    def __init__(self, renames: dict[str, str], exprs: dict[str, ast.Expr], suffix: str) -> None:
        self.renames = renames
        self.exprs = exprs
        self.suffix = suffix

    def type_text(self, text: str) -> str | None:
        """A type written with a parameter bound to ``typeof(T)`` (``a *``, ``typeof(a)``, ``a[2]``)
        as that type's text; None when the parameter is bound to an expression instead."""
        m = re.fullmatch(r"typeof\((\w+)\)(.*)|(\w+)(.*)", text.strip(), re.S)
        word, rest = ((m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))) if m else ("", "")
        bound = self.exprs.get(word)
        if bound is None:
            return text
        if isinstance(bound, ast.TypeOf) and bound.type_name:
            return bound.type_name + rest
        return None

    def enter(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.VarDecl) and s.type_name:
            text = self.type_text(s.type_name)
            if text is None:  # let $y: typeof(x) with x an expression: the expression's type
                word = s.type_name.strip()[len("typeof("):-1] if s.type_name.startswith("typeof(") else ""
                s.type_name, s.type_expr = None, copy.deepcopy(self.exprs.get(word))
            else:
                s.type_name = text

    def expr(self, e: ast.Expr) -> ast.Expr:
        if isinstance(e, ast.Identifier) and e.name in self.exprs:
            return copy.deepcopy(self.exprs[e.name])
        if isinstance(e, (ast.Cast, ast.Sizeof)) and e.type_name:
            text = self.type_text(e.type_name)
            if text is not None:
                e.type_name = text
            elif isinstance(e, ast.Sizeof):  # sizeof(x) with x an expression
                e.expr, e.type_name = copy.deepcopy(self.exprs[e.type_name.strip()]), None
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
        if isinstance(e, ast.ArrayAccess) and isinstance(e.expr, ast.TypeOf) and e.expr.type_name and isinstance(
                e.index, ast.Integer):  # t[2] with t bound to typeof(T): the array type T[2]
            return ast.TypeOf(e.loc, None, f"{e.expr.type_name}[{e.index.value}]")
        return e


class _Scopes:
    """Block scoping of ``$variables``, as current bpftrace has it: a variable
    belongs to the block where it is first assigned or declared with ``let``
    (a ``for`` variable to the loop's body) and is gone when that block ends.
    Each distinct variable gets a name of its own (``$x``, then ``$x.2``...), so
    later passes can keep one flat table of variables per probe."""

    def __init__(self, counter: itertools.count) -> None:
        self.counter = counter
        self.stack: list[dict[str, str]] = [{}]
        self.used: set[str] = set()

    def fresh(self, name: str) -> str:
        unique = name if name not in self.used else f"{name}.{next(self.counter)}"
        self.used.add(unique)
        self.stack[-1][name] = unique
        return unique

    def lookup(self, name: str) -> str | None:
        for scope in reversed(self.stack):
            if name in scope:
                return scope[name]
        return None

    def block(self, stmts: list[ast.Stmt], bind: ast.Variable | None = None) -> None:
        self.stack.append({})
        if bind is not None:
            bind.name = self.fresh(bind.name)
        for stmt in stmts:
            self.stmt(stmt)
        self.stack.pop()

    def stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.VarDecl):
            self.node([s.value, s.type_expr])
            s.var.name = self.fresh(s.var.name)
        elif isinstance(s, ast.Assign) and isinstance(s.target, ast.Variable):
            self.node(s.value)
            known = self.lookup(s.target.name)
            s.target.name = known or self.fresh(s.target.name)
        elif isinstance(s, ast.If):
            self.node(s.cond)
            self.block(s.then)
            self.block(s.orelse)
        elif isinstance(s, (ast.While, ast.Unroll)):
            self.node(s.cond if isinstance(s, ast.While) else s.count)
            self.block(s.body)
        elif isinstance(s, ast.For):
            self.node([s.map, s.start, s.end])
            self.block(s.body, bind=s.var)
        else:
            self.node([getattr(s, f) for f in s.__dataclass_fields__ if f != "loc"])

    def node(self, node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                self.node(n)
        elif isinstance(node, ast.Stmt):
            self.stmt(node)
        elif isinstance(node, ast.BlockExpr):
            self.stack.append({})
            for stmt in node.stmts:
                self.stmt(stmt)
            self.node(node.value)
            self.stack.pop()
        elif isinstance(node, ast.Variable):
            # a variable no scope knows stays unknown: semantic analysis reports it
            node.name = self.lookup(node.name) or f"{node.name}.{next(self.counter)}"
        elif isinstance(node, ast.Expr):
            self.node([getattr(node, f) for f in node.__dataclass_fields__ if f not in ("loc", "type")])


def variable_name(name: str) -> str:
    """A variable's name as the program wrote it (without the suffix scoping gave it)."""
    return name.split(".", 1)[0]


def expand(prog: ast.Program, diags: Diagnostics, config: Config | None = None) -> None:
    """Rewrite ``prog``'s probes in place (``config()`` reads ``config``'s values)."""
    expander = Expander(prog, diags, config or Config())
    for probe in prog.probes:
        if probe.pred is not None:
            probe.pred = expander.expr(probe.pred)
        probe.body = expander.visit(probe.body)
        scopes = _Scopes(expander.counter)
        scopes.node(probe.pred)
        scopes.block(probe.body)
