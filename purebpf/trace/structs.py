"""C struct and union layouts for purebpf trace, as the tracer's own types.

Member access (``curtask->real_parent->pid``, ``args.rqtp.tv_sec``,
``((struct x *)ctx).x``) needs each member's offset and type.  They come from
the program's own definitions first (a program may redefine ``task_struct``,
as in bpftrace), then from the DWARF of the binaries the program's uprobes
name, and then from the running kernel's BTF, which is opened only when a
program names a type neither of the others defines.

A struct is the type ``TType("struct", size, extra=key)``: the key names its
layout here (its C name, or ``#<id>`` for an anonymous BTF type), so types
stay small and comparable however large the struct behind them is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from purebpf.trace.types import BOOL, Array, Int, Ptr, Str, TType

if TYPE_CHECKING:
    from purebpf.btf.spec import BTF
    from purebpf.symbols.dwarf import DebugInfo

VOID = TType("void", 0)
MAX_STRUCT_COPY = 256  # a struct value larger than this stays in memory: its members are read one by one


@dataclass(frozen=True)
class Member:
    name: str
    type: TType
    offset: int          # bytes from the start of the struct (a bitfield: of its storage unit)
    bit_offset: int = 0  # a bitfield's first bit within the unit at ``offset``
    bit_size: int = 0    # 0: not a bitfield


@dataclass
class Layout:
    key: str
    size: int
    align: int
    members: list[Member] = field(default_factory=list)  # direct members; anonymous ones have name ""
    union: bool = False


def struct_type(key: str, size: int) -> TType:
    return TType("struct", size, extra=key)


def is_struct_pointer(t: TType) -> bool:
    return t.kind == "pointer" and bool(t.elems) and t.elems[0].kind == "struct"


class StructTable:
    """Every struct a program can name: its definitions, then kernel BTF (opened on first need)."""

    def __init__(self, defined: dict[str, Layout] | None = None,
                 btf_source: Callable[[], BTF | None] | None = None) -> None:
        self.layouts: dict[str, Layout] = dict(defined or {})
        self.defined = set(self.layouts)
        self._btf_source = btf_source
        self._btf: BTF | None = None
        self._btf_tried = False
        self._enumerators: dict[str, int] | None = None
        self.dwarf: list[DebugInfo] = []  # user-space programs' DWARF (uprobes), searched before BTF

    def add_dwarf(self, info: DebugInfo) -> None:
        if all(d is not info for d in self.dwarf):
            self.dwarf.append(info)

    @property
    def btf(self) -> BTF | None:
        if not self._btf_tried:
            self._btf_tried = True
            self._btf = self._btf_source() if self._btf_source is not None else None
        return self._btf

    # -- lookups ------------------------------------------------------------------------

    def find(self, name: str) -> TType | None:
        """``struct name`` (or union), or None when neither the program nor BTF has it."""
        layout = self.layout(name)
        return struct_type(layout.key, layout.size) if layout is not None else None

    def layout(self, key: str) -> Layout | None:
        got = self.layouts.get(key)
        if got is not None:
            return got
        got = self._dwarf_layout(key)
        if got is not None:
            self.layouts[key] = got
            return got
        btf = self.btf
        if btf is None:
            return None
        from purebpf.btf.kinds import Kind
        if key.startswith("#"):
            type_id = int(key[1:])
        else:
            ids = [i for i in btf.find_ids(key) if btf.kind_of(i) in (Kind.STRUCT, Kind.UNION)]
            complete = [i for i in ids if btf.type_by_id(i).members]
            if not ids:
                return None
            type_id = (complete or ids)[0]
        got = self.layouts[key] = self._btf_layout(key, type_id)
        return got

    def member(self, t: TType, name: str) -> Member | None:
        """Member ``name`` of struct type ``t``, looking through anonymous struct/union members."""
        layout = self.layout(t.extra)
        return _find_member(self, layout, name, 0) if layout is not None else None

    def enumerator(self, name: str) -> int | None:
        """The value of kernel enumerator ``name`` (``BTF_VAR_STATIC``, ``TASK_RUNNING``...), or None."""
        if self._enumerators is None:
            btf = self.btf
            self._enumerators = {}
            if btf is not None:
                from purebpf.btf.kinds import Kind
                for type_id in btf.ids():
                    if btf.kind_of(type_id) in (Kind.ENUM, Kind.ENUM64):
                        for v in btf.type_by_id(type_id).values:
                            self._enumerators.setdefault(v.name, v.value)
        return self._enumerators.get(name)

    def variable(self, name: str) -> tuple[int, TType] | None:
        """A kernel variable's BTF id (what ``ld_imm64`` with a BTF id loads) and its type."""
        btf = self.btf
        ids = btf.find_ids(name, "var") if btf is not None else []
        return (ids[0], self.from_btf(btf.type_by_id(ids[0]).type)) if ids else None

    def named_type(self, name: str) -> TType | None:
        """A typedef or base type named in BTF (``size_t``, ``pid_t``, ``u64``), or None."""
        btf = self.btf
        if btf is None:
            return None
        from purebpf.btf.kinds import Kind
        for type_id in btf.find_ids(name):
            if btf.kind_of(type_id) in (Kind.TYPEDEF, Kind.INT, Kind.ENUM, Kind.ENUM64):
                return self.from_btf(type_id)
        return None

    # -- BTF ------------------------------------------------------------------------------

    def from_btf(self, type_id: int) -> TType:
        """The tracer's type for BTF type ``type_id``."""
        from purebpf.btf import types as bt
        btf = self.btf
        assert btf is not None
        t = btf.resolve(type_id)
        if isinstance(t, bt.Int):
            return BOOL if t.is_bool else Int(t.size, t.signed)
        if isinstance(t, bt.Enum):
            return Int(t.size, t.signed)
        if isinstance(t, bt.Pointer):
            target = btf.resolve(t.type)
            if isinstance(target, bt.FuncProto | bt.Void):
                return Ptr(VOID)
            return Ptr(self.from_btf(t.type))
        if isinstance(t, bt.Array):
            elem = self.from_btf(t.type)
            if elem.kind == "int" and elem.size == 1 and _is_char(btf, t.type):
                return Str(t.nelems)
            return Array(elem, t.nelems)
        if isinstance(t, bt.Composite):
            key = t.name if t.name else f"#{t.id}"
            if key in self.defined and t.name:  # the program's definition wins
                return struct_type(key, self.layouts[key].size)
            return struct_type(key, t.size)
        if isinstance(t, bt.Float):
            return Int(t.size, True)
        return VOID

    def _btf_layout(self, key: str, type_id: int) -> Layout:
        from purebpf.btf import types as bt
        btf = self.btf
        assert btf is not None
        t = btf.resolve(type_id)
        members = []
        for m in t.members:
            mtype = self.from_btf(m.type)
            if m.bitfield_size:
                unit = max(btf.sizeof(m.type), 1)
                start = m.bit_offset // (unit * 8) * unit
                members.append(Member(m.name, mtype, start, m.bit_offset - start * 8, m.bitfield_size))
            else:
                members.append(Member(m.name, mtype, m.bit_offset // 8))
        return Layout(key, t.size, btf.alignof(t.id), members, union=isinstance(t, bt.Union))


    # -- DWARF ----------------------------------------------------------------------------

    def from_dwarf(self, info: DebugInfo, type_id: int | None) -> TType:
        """The tracer's type for DWARF type ``type_id`` of ``info``."""
        t = info.resolve(type_id)
        if t is None or t.kind in ("void", "func"):
            return VOID
        if t.kind == "base":
            if t.boolean:
                return BOOL
            return Int(t.size if t.size in (1, 2, 4, 8) else 8, t.signed or t.floating)
        if t.kind == "enum":
            return Int(t.size or 4, t.signed)
        if t.kind == "pointer":
            target = info.resolve(t.target)
            return Ptr(VOID if target is None or target.kind in ("void", "func") else self.from_dwarf(info, t.target))
        if t.kind == "array":
            elem = self.from_dwarf(info, t.target)
            target = info.resolve(t.target)
            if target is not None and target.kind == "base" and target.char and elem.size == 1:
                return Str(t.count)
            return Array(elem, t.count)
        if t.kind in ("struct", "union"):
            key = t.name if t.name else f"#dwarf:{id(info)}:{type_id}"
            if t.name and key in self.defined:  # the program's definition wins
                return struct_type(key, self.layouts[key].size)
            if not t.name and key not in self.layouts:
                self.layouts[key] = self._layout_of(info, info.types[_strip(info, type_id)], key)
            return struct_type(key, t.size if not t.declaration else (self.find(key) or VOID).size)
        return VOID

    def _dwarf_layout(self, key: str) -> Layout | None:
        for info in self.dwarf:
            type_id = info.struct(key)
            if type_id is not None and not info.types[type_id].declaration:
                return self._layout_of(info, info.types[type_id], key)
        return None

    def _layout_of(self, info: DebugInfo, t, key: str) -> Layout:
        members = [Member(m.name, self.from_dwarf(info, m.type), m.offset, m.bit_offset, m.bit_size)
                   for m in t.members]
        align = max((alignment(m.type, self) for m in members if m.type.kind != "struct"), default=1)
        return Layout(key, t.size, align, members, union=t.kind == "union")


def _strip(info: DebugInfo, type_id: int | None) -> int | None:
    """``type_id`` past typedefs and qualifiers (the id :meth:`DebugInfo.resolve` lands on)."""
    for _ in range(64):
        t = info.types.get(type_id) if type_id is not None else None
        if t is None or t.kind not in ("typedef", "const", "volatile", "restrict", "atomic"):
            return type_id
        type_id = t.target
    return type_id


def _is_char(btf: BTF, type_id: int) -> bool:
    t = btf.resolve(type_id)
    return getattr(t, "is_char", False) or t.name in ("char", "signed char", "unsigned char")


def _find_member(table: StructTable, layout: Layout, name: str, base: int) -> Member | None:
    for m in layout.members:
        if m.name == name:
            return Member(m.name, m.type, base + m.offset, m.bit_offset, m.bit_size)
    for m in layout.members:
        if not m.name and m.type.kind == "struct":
            inner = table.layout(m.type.extra)
            found = _find_member(table, inner, name, base + m.offset) if inner is not None else None
            if found is not None:
                return found
    return None


def alignment(t: TType, table: StructTable) -> int:
    """C alignment of a member of type ``t`` (x86_64)."""
    if t.kind == "struct":
        layout = table.layout(t.extra)
        return layout.align if layout is not None else 1
    if t.kind == "array" and t.elems:
        return alignment(t.elems[0], table)
    if t.kind == "string":
        return 1
    if t.kind == "none" and t.extra == "long double":
        return 16
    return max(min(t.size, 8), 1)


def kernel_btf() -> BTF | None:
    """The running kernel's BTF, or None on a kernel without it."""
    from purebpf.btf.kernel import load_kernel
    from purebpf.errors import BPFError
    try:
        return load_kernel()
    except (BPFError, OSError):
        return None


@dataclass(frozen=True)
class FunctionArgs:
    """The typed arguments of a BTF-described probe: each a u64 slot of the program's context."""
    args: dict[str, tuple[int, TType]]   # name -> (context offset, type)
    retval: tuple[int, TType] | None = None
    refused: dict[str, str] = field(default_factory=dict)  # parameters that cannot be read -> why


def function_args(table: StructTable, provider: str, name: str) -> FunctionArgs | None:
    """Arguments of ``rawtracepoint:name`` (the ``btf_trace_<name>`` prototype without its first,
    internal parameter) or of kernel function ``name`` (fentry/fexit; fexit's return value follows
    the arguments).  None when BTF does not describe it."""
    from purebpf.btf import types as bt
    btf = table.btf
    if btf is None:
        return None
    # a raw tracepoint's named prototype is that of the kernel's __bpf_trace_<name> stub
    # (the btf_trace_<name> typedef has the same types without names)
    proto = None
    for type_id in btf.find_ids("__bpf_trace_" + name if provider == "rawtracepoint" else name, "func"):
        proto = btf.resolve(btf.type_by_id(type_id).type)
    if not isinstance(proto, bt.FuncProto):
        return None
    params = proto.params[1:] if provider == "rawtracepoint" else proto.params
    # the trampoline stores each argument in as many u64 slots as it needs: a 16-byte struct
    # passed by value (bpfptr_t) takes two, and moves every later argument along
    args, slot = {}, 0
    for i, p in enumerate(params):
        args[p.name or f"arg{i}"] = (8 * slot, table.from_btf(p.type))
        slot += _slots(btf, p.type) if provider != "rawtracepoint" else 1
    retval = None
    if provider == "fexit" and proto.return_type:
        retval = (8 * slot, table.from_btf(proto.return_type))
    return FunctionArgs(args, retval)


def _slots(btf, type_id: int) -> int:
    """How many u64 context slots an argument of BTF type ``type_id`` fills (1 for anything unsized)."""
    from purebpf.errors import BPFError
    try:
        return max(1, -(-btf.sizeof(type_id) // 8)) if type_id else 1
    except (BPFError, ValueError, KeyError):
        return 1


# x86_64 pt_regs offsets of the integer argument registers: rdi, rsi, rdx, rcx, r8, r9
PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)


def uprobe_args(table: StructTable, info: DebugInfo, func: str) -> FunctionArgs | None:
    """The parameters of user-space function ``func`` as DWARF describes them, each read from its
    argument register at the function's entry (None when DWARF does not describe the function).
    Parameters the registers do not hold (a struct passed by value, a seventh argument) are left
    out, with the reason in ``refused``."""
    function = info.functions.get(func)
    if function is None:
        return None
    args: dict[str, tuple[int, TType]] = {}
    refused: dict[str, str] = {}
    for i, p in enumerate(function.params):
        name = p.name or f"arg{i}"
        t = table.from_dwarf(info, p.type)
        if i >= len(PT_REGS_ARGS):
            refused[name] = f"parameter {i + 1} of {func} is passed on the stack (only the first 6 are read)"
        elif t.kind in ("struct", "array", "string") or t.kind == "int" and t.size > 8:
            refused[name] = f"{func}'s parameter {name} is a struct passed by value: not readable at entry"
        else:
            args[name] = (PT_REGS_ARGS[i], t)
    return FunctionArgs(args, refused=refused)
