"""What semantic analysis knows besides expression types: the tables of
builtins, casts and aggregations, what a map holds (:class:`MapInfo`), a
probe's scope, the program-wide environment, and how values are stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from purebpf.sys.tracepoint_format import TracepointField
from purebpf.trace import ast
from purebpf.trace.cdefs import CDefs
from purebpf.trace.location import Location
from purebpf.trace.probes import ProbeTarget
from purebpf.trace.structs import FunctionArgs, StructTable
from purebpf.trace.types import BOOL, COMM, INT64, NONE, STRING, UINT64, Int, Ptr, Str, TType, Tup, promote

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
ARG_PROVIDERS = ("kprobe", "uprobe", "usdt")
RETVAL_PROVIDERS = ("kretprobe", "uretprobe", "fexit")
MAX_ARGS = 6  # x86_64 argument registers
NSECS_CLOCKS = ("monotonic", "boot", "tai", "sw_tai")
UNSAFE_FUNCTIONS = ("system", "signal", "override")
STACK_MODES = ("bpftrace", "perf", "raw", "build_id")
# as current bpftrace (0.17, the oracle of tests/trace, sized strings at 64 bytes): paths are often longer than
# 64 characters.  Strings that big live in per-CPU scratch memory, and records send a string only up to its NUL
DEFAULT_MAX_STRLEN = 1024
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
    no_args: str = ""  # why `args` is not available here (a uprobe's binary without DWARF...): its error says
    btf_helpers: bool = False  # calls helpers that take BTF-typed kernel pointers (loads as tp_btf/fentry)
    variables: dict[str, TType] = field(default_factory=dict)  # how each variable is held (64-bit integers)
    shown: dict[str, TType] = field(default_factory=dict)  # its bpftrace type (sizeof, messages)
    for_loops: int = 0
    multi: bool = False  # one program for several functions (uprobe_multi): probe/func come from the cookie


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
    stack_mode: str = "bpftrace"  # kstack/ustack's mode when the call names none (config / BPFTRACE_STACK_MODE)
    pid: int | None = None  # -p: the process whose files uprobes may name (and whose mappings `uprobe:*:f` searches)
    max_strlen: int = DEFAULT_MAX_STRLEN  # characters str() keeps; its strings have one more byte, the NUL
    debuginfo: tuple[str, ...] = ()  # --debuginfo: directories of separate debug files (uprobes' DWARF)


def unify(a: TType, b: TType) -> TType | None:
    """The common type two values can both be stored as, or None."""
    if a.kind != b.kind:
        return None
    if a.kind == "int":
        return promote(a, b)
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
    """An integer standing alone is held in a 64-bit slot (a tuple keeps its elements' own sizes)."""
    if t.kind == "int":
        return TType("int", 8, t.signed, extra=t.extra)
    return t


def is_truthy(t: TType) -> bool:
    return t.kind in ("int", "bool", "pointer")


def ends_flow(stmt: ast.Stmt) -> bool:
    """``return``, ``break``, ``continue`` and ``exit()``: nothing after them in a block runs."""
    return isinstance(stmt, ast.Jump) or (isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Call)
                                          and stmt.expr.func == "exit")


def key_text(t: TType) -> str:
    if t.kind == "tuple" and not t.names:
        return "(" + ",".join(str(x) for x in t.elems) + ")"
    return str(t)
