"""BTF to C: a whole ``vmlinux.h`` or chosen types with what they depend on.

The output compiles with clang (``-target bpf``) and reproduces every offset
and size BTF records:

* a type is written after what it needs *by value* (members, array elements,
  typedef targets used by value); a struct only reached through a pointer gets
  a forward declaration (``struct foo;``) instead, which breaks pointer cycles;
* anonymous structs, unions and enums are written inline where they are used;
* gaps the natural C layout would not leave (cache-line alignment and the
  like, which BTF does not record) are filled with unnamed bitfields
  (``long: 64;``); layouts C cannot reach naturally get
  ``__attribute__((packed))``; unions (which cannot be padded) and enums of
  unusual size get ``__attribute__((aligned(N)))`` / ``mode``;
* names used twice for different types (``struct foo`` in two drivers, a
  second ``typedef u8``, clashing enumerators) get ``___2``, ``___3``...
  suffixes, as ``bpftool btf dump format c`` does, so the header stays valid C.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from purebpf.btf.kinds import Kind
from purebpf.btf.spec import BTF
from purebpf.btf.types import Composite, Enum, Type
from purebpf.errors import InvalidInputError

_GUARD_OPEN = """#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

"""
_GUARD_CLOSE = """#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
"""
_QUALIFIERS = {Kind.CONST: "const", Kind.VOLATILE: "volatile", Kind.RESTRICT: "restrict"}
_BUILTIN_TYPEDEFS = frozenset({"__builtin_va_list"})
_ENUM_MODES = {1: "QI", 2: "HI", 4: "SI", 8: "DI"}
_DEFINING, _DEFINED = 1, 2


def render_c(btf: BTF, types: Iterable[Type | int] | None = None, *, guard: bool | None = None,
             type_tags: bool = False) -> str:
    """C declarations for ``types`` (ids or types) and their dependencies, or for all of ``btf``.

    With ``types=None`` the result is a complete ``vmlinux.h``: include guard and
    ``preserve_access_index`` pragma around every type (``guard`` overrides).
    ``type_tags`` writes BTF type tags as ``__attribute__((btf_type_tag(...)))``.
    """
    renderer = _Renderer(btf, type_tags)
    everything = types is None
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 20000))  # deep by-value nesting recurses once per level
    try:
        if everything:
            renderer.emit_all()
        else:
            for t in types:
                renderer.emit_requested(t if isinstance(t, int) else t.id)
    finally:
        sys.setrecursionlimit(old_limit)
    body = "".join(renderer.out)
    if guard if guard is not None else everything:
        return _GUARD_OPEN + body + _GUARD_CLOSE
    return body


def declaration(btf: BTF, type_id: int, name: str) -> str:
    """One C declaration, ``const char *filename``: how listings show a function's parameters."""
    return _Renderer(btf, False).decl(type_id, name, 0)


def _s(declarator: str) -> str:
    return f" {declarator}" if declarator else ""


class _Renderer:
    def __init__(self, btf: BTF, type_tags: bool) -> None:
        self.btf = btf
        self.layout = btf.layout
        self.type_tags = type_tags
        self.out: list[str] = []
        self.state: dict[int, int] = {}
        self.declared_tags: set[str] = set()
        self.done: set[int] = set()             # typedefs and enums written
        self.names: dict[int, str] = {}         # id -> C name after de-duplication
        self.counts: dict[tuple[str, str], int] = {}
        self.referenced: set[int] = set()

    # ---- names -------------------------------------------------------------------------------

    def _unique(self, space: str, name: str) -> str:
        key = (space, name)
        n = self.counts[key] = self.counts.get(key, 0) + 1
        return name if n == 1 else f"{name}___{n}"

    def name(self, t: Type) -> str:
        """C name of a named type: tags (struct/union/enum) and typedefs each de-duplicated."""
        got = self.names.get(t.id)
        if got is None:
            if t.kind == Kind.FWD:
                got = t.name  # a forward declaration names the same tag as its definition
            elif t.kind == Kind.TYPEDEF:
                got = self._unique("ident", t.name)
            else:
                got = self._unique("tag", t.name)
            self.names[t.id] = got
        return got

    def tag(self, t: Type) -> str:
        if t.kind == Kind.FWD:
            return ("union " if t.is_union else "struct ") + self.name(t)
        keyword = {Kind.STRUCT: "struct", Kind.UNION: "union"}.get(t.kind, "enum")
        return f"{keyword} {self.name(t)}"

    # ---- driving -----------------------------------------------------------------------------

    def emit_all(self) -> None:
        btf = self.btf
        for t in btf:
            for ref in _references(t):
                self.referenced.add(ref)
        for tid in btf.ids():
            kind = btf.kind_of(tid)
            named = bool(btf.name_of(tid))
            if kind in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64):
                if named:
                    self.need(tid, True)
                elif kind in (Kind.ENUM, Kind.ENUM64) and tid not in self.referenced:
                    self.top_anonymous(tid)  # its enumerators are constants programs use
            elif kind in (Kind.FWD, Kind.TYPEDEF) and named:
                self.need(tid, False)

    def emit_requested(self, tid: int) -> None:
        t = self.btf.type_by_id(tid)
        if t.kind in (Kind.FUNC, Kind.VAR):
            target = t.type
            self.need(target, t.kind == Kind.VAR)
            shown = self.btf.type_by_id(target) if t.kind == Kind.FUNC else None
            decl = self.decl_proto(shown, t.name, 0, names=True) if shown is not None and shown.kind == \
                Kind.FUNC_PROTO else self.decl(target, t.name, 0)
            self.write(f"extern {decl};")
        elif t.kind in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64) and not t.name:
            self.top_anonymous(tid)
        elif t.kind == Kind.TYPEDEF:
            self.need(tid, True)
        elif t.kind in (Kind.DATASEC, Kind.DECL_TAG, Kind.UNKN):
            raise InvalidInputError(f"BTF {t.kind.name} {t.display_name!r} has no C declaration to render")
        else:
            self.need(tid, True)

    def write(self, text: str) -> None:
        self.out.append(text + "\n\n")

    # ---- ordering ----------------------------------------------------------------------------

    def need(self, tid: int, by_value: bool) -> None:
        """Make sure what ``tid`` names can be used here (complete, or merely declared if not by value)."""
        t = self.btf.type_by_id(tid)
        kind = t.kind
        if kind in (Kind.UNKN, Kind.INT, Kind.FLOAT):
            return
        if kind == Kind.PTR:
            self.need(t.type, False)
        elif kind in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG):
            self.need(t.type, by_value)
        elif kind == Kind.ARRAY:
            self.need(t.type, True)
        elif kind == Kind.FUNC_PROTO:
            self.need(t.return_type, False)
            for p in t.params:
                self.need(p.type, False)
        elif kind in (Kind.ENUM, Kind.ENUM64):
            if t.name and tid not in self.done:
                self.done.add(tid)
                self.write(self.enum_body(t, 0) + ";")
        elif kind == Kind.FWD:
            self.declare(t)
        elif kind in (Kind.STRUCT, Kind.UNION):
            if not t.name:
                for m in t.members:
                    self.need(m.type, True)
            elif by_value:
                self.define(t)
            else:
                self.declare(t)
        elif kind == Kind.TYPEDEF:
            self.typedef(t)
            if by_value:
                self.need(t.type, True)
        elif kind in (Kind.FUNC, Kind.VAR):
            self.need(t.type, kind == Kind.VAR)

    def declare(self, t: Type) -> None:
        tag = self.tag(t)
        if tag not in self.declared_tags:
            self.declared_tags.add(tag)
            self.write(tag + ";")

    def define(self, t: Composite) -> None:
        state = self.state.get(t.id)
        if state == _DEFINED:
            return
        if state == _DEFINING:
            raise InvalidInputError(f"BTF {t.kind.name.lower()} {t.name} contains itself by value")
        self.state[t.id] = _DEFINING
        for m in t.members:
            self.need(m.type, True)
        self.write(self.composite_body(t, 0) + ";")
        self.declared_tags.add(self.tag(t))
        self.state[t.id] = _DEFINED

    def typedef(self, t: Type) -> None:
        if t.id in self.done or t.name in _BUILTIN_TYPEDEFS:
            return
        self.done.add(t.id)
        self.need(t.type, False)
        self.write(f"typedef {self.decl(t.type, self.name(t), 0)};")

    def top_anonymous(self, tid: int) -> None:
        t = self.btf.type_by_id(tid)
        if isinstance(t, Composite):
            for m in t.members:
                self.need(m.type, True)
            self.write(self.composite_body(t, 0) + ";")
        else:
            self.write(self.enum_body(t, 0) + ";")

    # ---- declarations ------------------------------------------------------------------------

    def decl(self, tid: int, declarator: str, indent: int) -> str:
        """``type declarator`` in C syntax, e.g. ``int (*name)[4]`` for a pointer to an array."""
        t = self.btf.type_by_id(tid)
        kind = t.kind
        if kind == Kind.UNKN:
            return "void" + _s(declarator)
        if kind in (Kind.INT, Kind.FLOAT):
            return t.name + _s(declarator)
        if kind == Kind.TYPEDEF:
            if t.name in _BUILTIN_TYPEDEFS:
                return t.name + _s(declarator)
            return self.name(t) + _s(declarator)
        if kind == Kind.FWD:
            return self.tag(t) + _s(declarator)
        if kind in (Kind.STRUCT, Kind.UNION):
            head = self.tag(t) if t.name else self.composite_body(t, indent)
            return head + _s(declarator)
        if kind in (Kind.ENUM, Kind.ENUM64):
            head = self.tag(t) if t.name else self.enum_body(t, indent)
            return head + _s(declarator)
        if kind == Kind.PTR:
            inner = "*" + declarator
            if self._skip_modifiers(t.type).kind in (Kind.ARRAY, Kind.FUNC_PROTO):
                inner = f"({inner})"
            return self.decl(t.type, inner, indent)
        if kind in _QUALIFIERS:
            qual = _QUALIFIERS[kind]
            target = self.btf.type_by_id(t.type)
            if self._qualified(t.type, kind):  # "const const char" says nothing more
                return self.decl(t.type, declarator, indent)
            if target.kind == Kind.PTR:  # qualifies the pointer itself: int *const p
                return self.decl(t.type, f"{qual} {declarator}".rstrip(), indent)
            if target.kind == Kind.FUNC_PROTO:
                return self.decl(t.type, declarator, indent)
            return f"{qual} " + self.decl(t.type, declarator, indent)
        if kind == Kind.TYPE_TAG:
            if self.type_tags:
                declarator = f'__attribute__((btf_type_tag("{t.name}"))) {declarator}'.rstrip()
            return self.decl(t.type, declarator, indent)
        if kind == Kind.ARRAY:
            return self.decl(t.type, f"{declarator}[{t.nelems}]", indent)
        if kind == Kind.FUNC_PROTO:
            return self.decl_proto(t, declarator, indent)
        raise InvalidInputError(f"BTF {kind.name} #{tid} cannot appear inside a C declaration")

    def decl_proto(self, t: Type, declarator: str, indent: int, names: bool = False) -> str:
        params = []
        for p in t.params:
            if p.type == 0 and not p.name:
                params.append("...")
            else:
                params.append(self.decl(p.type, p.name if names else "", indent))
        return self.decl(t.return_type, f"{declarator}({', '.join(params) or 'void'})", indent)

    def _qualified(self, tid: int, kind: Kind) -> bool:
        """Whether ``tid`` already carries qualifier ``kind`` (a qualified array's elements carry it)."""
        t = self.btf.type_by_id(tid)
        while t.kind in (Kind.TYPE_TAG, Kind.ARRAY):
            t = self.btf.type_by_id(t.type)
        return t.kind == kind

    def _skip_modifiers(self, tid: int) -> Type:
        t = self.btf.type_by_id(tid)
        while t.kind in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG):
            t = self.btf.type_by_id(t.type)
        return t

    # ---- bodies ------------------------------------------------------------------------------

    def enum_body(self, t: Enum, indent: int) -> str:
        head = f"enum {self.name(t)}" if t.name else "enum"
        if not t.values:
            return head
        tabs = "\t" * (indent + 1)
        wide = t.kind == Kind.ENUM64
        lines = [f"{head} {{"]
        for v in t.values:
            lines.append(f"{tabs}{self._unique('ident', v.name)} = {_enum_literal(v.value, t.signed, wide)},")
        lines.append("\t" * indent + "}")
        text = "\n".join(lines)
        if t.size != self._natural_enum_size(t) and t.size in _ENUM_MODES:
            text += f" __attribute__((mode({_ENUM_MODES[t.size]})))"
        return text

    @staticmethod
    def _natural_enum_size(t: Enum) -> int:
        """The size clang gives an enum with these values: int, unless a value needs 64 bits."""
        lo = min((v.value for v in t.values), default=0)
        hi = max((v.value for v in t.values), default=0)
        return 4 if -(1 << 31) <= lo and hi < (1 << 32) else 8

    def composite_body(self, t: Composite, indent: int) -> str:
        keyword = "struct" if t.kind == Kind.STRUCT else "union"
        head = f"{keyword} {self.name(t)}" if t.name else keyword
        layout = self.layout
        packed = layout.is_packed(t)
        tabs = "\t" * (indent + 1)
        lines = [f"{head} {{"]
        is_struct = t.kind == Kind.STRUCT
        cur = 0
        for m in t.members:
            if is_struct:
                natural = self._place(m, cur, packed)
                if natural != m.bit_offset and m.bit_offset > cur:
                    lines.extend(tabs + p for p in self._padding(cur, m.bit_offset))
                cur = m.bit_offset
            line = tabs + self.decl(m.type, m.name, indent + 1)
            if m.bitfield_size:
                line += f": {m.bitfield_size}"
            lines.append(line + ";")
            size = m.bitfield_size or layout.sizeof(m.type) * 8
            cur = max(cur, m.bit_offset + size) if is_struct else max(cur, size)
        align = 1 if packed else layout.natural_align(t)
        natural_size = _align_up(cur, align * 8)
        attrs = " __attribute__((packed))" if packed else ""
        if natural_size != t.size * 8 and t.size * 8 > cur:
            if is_struct:
                lines.extend(tabs + p for p in self._padding(cur, t.size * 8))
            else:
                attrs += self._union_alignment(cur, align, t.size)
        lines.append("\t" * indent + "}" + attrs)
        return "\n".join(lines)

    def _place(self, m, cur: int, packed: bool) -> int:
        """Where C would put member ``m`` if the previous member ended at bit ``cur``."""
        if packed:
            return cur
        if m.bitfield_size:
            unit = self.layout.sizeof(m.type) * 8
            if cur // unit == (cur + m.bitfield_size - 1) // unit:
                return cur
            return _align_up(cur, unit)
        return _align_up(cur, self.layout.alignof(m.type) * 8)

    def _padding(self, start: int, end: int) -> list[str]:
        """Unnamed bitfields covering bits ``start..end``, none straddling a 64-bit unit."""
        word = self.layout.ptr_size * 8
        unit = "long" if word == 64 else "long long"
        out = []
        while start < end:
            n = min(end - start, 64 - start % 64)
            out.append(f"{unit}: {n};")
            start += n
        return out

    @staticmethod
    def _union_alignment(cur: int, align: int, size: int) -> str:
        """An alignment that rounds the largest member (``cur`` bits) up to ``size`` bytes."""
        n = align
        while n <= size:
            if _align_up(cur, n * 8) == size * 8:
                return f" __attribute__((aligned({n})))"
            n *= 2
        return ""


def _align_up(value: int, align: int) -> int:
    return -(-value // align) * align if align > 1 else value


def _enum_literal(value: int, signed: bool, wide: bool) -> str:
    if not wide:
        return str(value)
    if value == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    return f"{value}LL" if signed and value < 0 else f"{value}ULL"


def _references(t: Type) -> Iterable[int]:
    """Ids that type ``t`` mentions (so anonymous enums they name are written inline, not on their own)."""
    kind = t.kind
    if kind in (Kind.STRUCT, Kind.UNION):
        return [m.type for m in t.members]
    if kind == Kind.FUNC_PROTO:
        return [t.return_type, *(p.type for p in t.params)]
    if kind == Kind.DATASEC:
        return [v.type for v in t.vars]
    if kind in (Kind.PTR, Kind.ARRAY, Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG,
                Kind.FUNC, Kind.VAR, Kind.DECL_TAG):
        return [t.type]
    return ()
