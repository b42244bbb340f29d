"""The tree of a bpftrace program.

Nodes are plain dataclasses.  The parser fills the syntax; later passes
(probe expansion, semantic analysis) annotate nodes through the ``type``
field of expressions rather than building a second tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from purebpf.trace.location import Location

# identifiers the language defines without a call (bpftrace's builtins)
BUILTINS = frozenset({
    "pid", "tid", "uid", "gid", "nsecs", "elapsed", "numaid", "cpu", "ncpus", "curtask", "rand", "ctx",
    "comm", "kstack", "ustack", "func", "probe", "retval", "args", "cgroup", "username", "sarg0",
    "jiffies", "usermode", "cpid", "__builtin_elapsed", "__builtin_cpu", "probetype", "config",
}) | {f"arg{i}" for i in range(12)} | {f"sarg{i}" for i in range(10)}


# ---------------------------------------------------------------------- expressions

@dataclass(eq=False)
class Expr:
    loc: Location
    type: Any = field(default=None, init=False, repr=False)  # set by semantic analysis


@dataclass(eq=False)
class Integer(Expr):
    value: int


@dataclass(eq=False)
class String(Expr):
    value: str


@dataclass(eq=False)
class Builtin(Expr):
    name: str


@dataclass(eq=False)
class Identifier(Expr):
    """A bare name that is not a builtin: an enum value, a type name in sizeof."""
    name: str


@dataclass(eq=False)
class PositionalParameter(Expr):
    """``$1`` (index >= 1) or ``$#`` (index 0, the count)."""
    index: int


@dataclass(eq=False)
class Variable(Expr):
    name: str  # with the leading '$'


@dataclass(eq=False)
class Map(Expr):
    name: str  # with the leading '@'
    keys: list[Expr] = field(default_factory=list)


@dataclass(eq=False)
class Call(Expr):
    func: str
    args: list[Expr] = field(default_factory=list)


@dataclass(eq=False)
class Binop(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Unop(Expr):
    """Prefix ``! ~ - * & ++ --`` or postfix ``++ --`` (``postfix`` True)."""
    op: str
    expr: Expr
    postfix: bool = False


@dataclass(eq=False)
class Ternary(Expr):
    """``cond ? left : right``; ``left`` is None for ``cond ?: right``."""
    cond: Expr
    left: Expr | None
    right: Expr


@dataclass(eq=False)
class IfExpr(Expr):
    """``if (cond) { ...; a } else { ...; b }`` used as a value."""
    cond: Expr
    then: BlockExpr
    orelse: BlockExpr | None


@dataclass(eq=False)
class BlockExpr(Expr):
    """``{ stmt; ...; value }``: statements, then the block's value (or None)."""
    stmts: list[Stmt]
    value: Expr | None


@dataclass(eq=False)
class TypeOf(Expr):
    """``typeof(type)`` or ``typeof(expr)`` where a type is expected."""
    expr: Expr | None
    type_name: str | None = None


@dataclass(eq=False)
class FieldAccess(Expr):
    """``expr.field``; ``a->f`` parses as ``(*a).f`` like bpftrace does."""
    expr: Expr
    field: str


@dataclass(eq=False)
class ArrayAccess(Expr):
    expr: Expr
    index: Expr


@dataclass(eq=False)
class Cast(Expr):
    type_name: str  # e.g. "int8", "struct task_struct *", "uint8[4]"
    expr: Expr


@dataclass(eq=False)
class Tuple(Expr):
    """``(a, b)``; a record ``(x=1, y=2)`` when ``names`` is set."""
    elems: list[Expr]
    names: list[str] | None = None


@dataclass(eq=False)
class Sizeof(Expr):
    """``sizeof(expr)`` or ``sizeof(type)`` (``type_name`` set)."""
    expr: Expr | None
    type_name: str | None = None


@dataclass(eq=False)
class Offsetof(Expr):
    type_name: str
    fields: list[str]


# ---------------------------------------------------------------------- statements

@dataclass(eq=False)
class Stmt:
    loc: Location


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=False)
class Assign(Stmt):
    """``target = value`` or compound ``target op= value`` (``op`` like "+")."""
    target: Expr  # Map, Variable or FieldAccess
    value: Expr
    op: str | None = None


@dataclass(eq=False)
class VarDecl(Stmt):
    """``let $x [: type] [= value];``; ``type_expr`` for ``typeof(expr)`` as the type."""
    var: Variable
    type_name: str | None
    value: Expr | None
    type_expr: Expr | None = None


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    orelse: list[Stmt] = field(default_factory=list)


@dataclass(eq=False)
class Unroll(Stmt):
    count: Expr
    body: list[Stmt]


@dataclass(eq=False)
class While(Stmt):
    cond: Expr
    body: list[Stmt]


@dataclass(eq=False)
class For(Stmt):
    """``for ($kv : @map) { ... }`` or ``for ($i : start..end) { ... }`` (``map`` None)."""
    var: Variable
    map: Map | None
    body: list[Stmt]
    start: Expr | None = None
    end: Expr | None = None


@dataclass(eq=False)
class Jump(Stmt):
    kind: str  # "return", "break", "continue"
    value: Expr | None = None


# ---------------------------------------------------------------------- top level

@dataclass(eq=False)
class AttachPoint:
    """One attach point as written (``tracepoint:syscalls:sys_enter_open*``);
    probe expansion splits and resolves it."""
    raw: str
    loc: Location


@dataclass(eq=False)
class Probe:
    attach_points: list[AttachPoint]
    pred: Expr | None
    body: list[Stmt]
    loc: Location


@dataclass(eq=False)
class CDefinition:
    """A C ``struct``/``union``/``enum`` definition or ``#include`` kept as text."""
    text: str
    loc: Location


@dataclass(eq=False)
class ConfigItem:
    key: str
    value: Expr
    loc: Location


@dataclass(eq=False)
class Macro:
    """``macro name(a, $b, @c) { ... }``: expanded where it is called."""
    name: str
    params: list[str]
    body: BlockExpr
    loc: Location


@dataclass(eq=False)
class MapDecl:
    """``let @name = hash(N);`` at the top level: a map's kind and size."""
    name: str
    kind: Call
    loc: Location


@dataclass(eq=False)
class Import:
    path: str
    loc: Location


@dataclass(eq=False)
class Program:
    probes: list[Probe] = field(default_factory=list)
    c_definitions: list[CDefinition] = field(default_factory=list)
    config: list[ConfigItem] = field(default_factory=list)
    macros: list[Macro] = field(default_factory=list)
    map_decls: list[MapDecl] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)


def walk(node: Any):
    """Every node below (and including) ``node``, depth first, in source order."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, list):
            stack.extend(reversed(cur))
            continue
        if cur is None or not hasattr(cur, "__dataclass_fields__"):
            continue
        yield cur
        children = [getattr(cur, f) for f in cur.__dataclass_fields__ if f not in ("loc", "type")]
        stack.extend(reversed([c for c in children if isinstance(c, (list, Expr, Stmt, Probe, AttachPoint))]))
