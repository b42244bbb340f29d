"""``BTFBuilder``: BTF for the programs and maps purebpf generates, in the kernel's format.

    b = BTFBuilder()
    u32 = b.add_int("unsigned int", 4)
    key = b.add_struct("key", [("pid", u32), ("cpu", u32)])   # offsets laid out as C would
    data = b.to_bytes()                                          # header + types + strings

The builder keeps each type as its :mod:`purebpf.btf.types` dataclass, so
sizes, alignments and member offsets of what it built are answered by the same
:class:`~purebpf.btf.layout.Layout` that answers them for kernel BTF, and
``BTF.from_bytes(b.to_bytes())`` reads back exactly what was added.
"""

from __future__ import annotations

import dataclasses
import struct
from array import array
from collections.abc import Iterable, Mapping, Sequence

from purebpf.btf import types as T
from purebpf.btf.kinds import BTF_MAGIC, BTF_VERSION, HEADER_SIZE, MAX_VLEN, IntEncoding, Kind, Linkage
from purebpf.btf.layout import Layout
from purebpf.btf.spec import BTF
from purebpf.errors import InvalidInputError

MemberSpec = T.Member | tuple


class BTFBuilder:
    """Collects types (ids from 1, or after ``base``'s for split BTF) and encodes them."""

    def __init__(self, base: BTF | None = None, pointer_size: int | None = None) -> None:
        self.base = base
        self.first_id = base.next_id if base else 1
        self.pointer_size = pointer_size or (base.pointer_size if base else 8)
        self._types: list[T.Type] = []
        self._strings = bytearray(b"\0")
        self._string_offsets: dict[str, int] = {"": 0}
        self._str_base = (base._str_base + base._str_len) if base else 0
        self._index_type = 0
        self.layout = Layout(self)

    # ---- reading back --------------------------------------------------------------------------

    @property
    def next_id(self) -> int:
        return self.first_id + len(self._types)

    def type_by_id(self, type_id: int) -> T.Type:
        if type_id == 0:
            return T.Void(0, "")
        if type_id < self.first_id:
            if self.base is None:
                raise InvalidInputError(f"BTF type id {type_id} is not defined")
            return self.base.type_by_id(type_id)
        try:
            return self._types[type_id - self.first_id]
        except IndexError:
            raise InvalidInputError(f"BTF type id {type_id} is not defined yet (next id is {self.next_id})") from None

    def sizeof(self, type_id: int) -> int:
        return self.layout.sizeof(type_id)

    # ---- adding --------------------------------------------------------------------------------

    def add(self, t: T.Type) -> int:
        """Append ``t`` (its ``id`` is replaced by the next free id, which is returned)."""
        for ref in _refs(t):
            if ref != 0 and ref >= self.next_id:
                raise InvalidInputError(f"{t.kind.name} {t.display_name!r} refers to type id {ref}, "
                                        f"which is not defined yet (next id is {self.next_id})")
        new_id = self.next_id
        self._types.append(dataclasses.replace(t, id=new_id))
        return new_id

    def add_int(self, name: str, size: int, signed: bool = False, *, char: bool = False, bool_: bool = False,
                bits: int | None = None) -> int:
        if size not in (1, 2, 4, 8, 16):
            raise InvalidInputError(f"int {name!r} has size {size}; BTF ints are 1, 2, 4, 8 or 16 bytes")
        encoding = (IntEncoding.SIGNED if signed else 0) | (IntEncoding.CHAR if char else 0) | \
            (IntEncoding.BOOL if bool_ else 0)
        return self.add(T.Int(0, name, size, int(encoding), size * 8 if bits is None else bits))

    def add_float(self, name: str, size: int) -> int:
        return self.add(T.Float(0, name, size))

    def add_ptr(self, target: int) -> int:
        return self.add(T.Pointer(0, "", target))

    def add_array(self, elem: int, nelems: int, index_type: int | None = None) -> int:
        """``elem[nelems]``; the kernel wants an int index type, one is added on first use."""
        if index_type is None:
            if not self._index_type:
                self._index_type = self.add_int("__ARRAY_SIZE_TYPE__", 4)
            index_type = self._index_type
        return self.add(T.Array(0, "", elem, index_type, nelems))

    def add_struct(self, name: str, members: Sequence[MemberSpec], size: int | None = None) -> int:
        """Members as ``(name, type)`` (laid out as C would) or ``(name, type, bit_offset[, bitfield_size])``."""
        return self._add_composite(T.Struct, name, members, size)

    def add_union(self, name: str, members: Sequence[MemberSpec], size: int | None = None) -> int:
        return self._add_composite(T.Union, name, members, size)

    def _add_composite(self, cls, name: str, members: Sequence[MemberSpec], size: int | None) -> int:
        if len(members) > MAX_VLEN:
            raise InvalidInputError(f"{name!r} has {len(members)} members; BTF allows {MAX_VLEN}")
        placed: list[T.Member] = []
        cur, max_align = 0, 1
        for spec in members:
            m = spec if isinstance(spec, T.Member) else None
            if m is None:
                if len(spec) == 2:
                    mname, mtype = spec
                    align = self.layout.alignof(mtype)
                    offset = 0 if cls is T.Union else -(-cur // (align * 8)) * (align * 8)
                    m = T.Member(mname, mtype, offset)
                else:
                    m = T.Member(*spec)
            max_align = max(max_align, self.layout.alignof(m.type))
            placed.append(m)
            end = m.bit_offset + (m.bitfield_size or self.layout.sizeof(m.type) * 8)
            cur = max(cur, end)
        if size is None:
            size = -(-cur // (max_align * 8)) * max_align
        if size * 8 < cur:
            raise InvalidInputError(f"{name!r} has size {size} but its members need {-(-cur // 8)} bytes")
        return self.add(cls(0, name, size, tuple(placed)))

    def add_enum(self, name: str, values: Mapping[str, int] | Iterable[tuple[str, int]], size: int = 4,
                 signed: bool | None = None) -> int:
        """ENUM, or ENUM64 when ``size`` is 8 or a value needs more than 32 bits."""
        pairs = list(values.items() if isinstance(values, Mapping) else values)
        if signed is None:
            signed = any(v < 0 for _, v in pairs)
        lo, hi = (-(1 << 31), 1 << 31) if signed else (0, 1 << 32)
        wide = size == 8 or any(not lo <= v < hi for _, v in pairs)
        cls = T.Enum64 if wide else T.Enum
        return self.add(cls(0, name, 8 if wide else size, signed, tuple(T.EnumValue(n, v) for n, v in pairs)))

    def add_fwd(self, name: str, union: bool = False) -> int:
        return self.add(T.Fwd(0, name, union))

    def add_typedef(self, name: str, target: int) -> int:
        return self.add(T.Typedef(0, name, target))

    def add_const(self, target: int) -> int:
        return self.add(T.Const(0, "", target))

    def add_volatile(self, target: int) -> int:
        return self.add(T.Volatile(0, "", target))

    def add_restrict(self, target: int) -> int:
        return self.add(T.Restrict(0, "", target))

    def add_type_tag(self, name: str, target: int) -> int:
        return self.add(T.TypeTag(0, name, target))

    def add_decl_tag(self, name: str, target: int, component_idx: int = -1) -> int:
        return self.add(T.DeclTag(0, name, target, component_idx))

    def add_func_proto(self, return_type: int, params: Sequence[tuple[str, int] | T.Param] = (),
                       variadic: bool = False) -> int:
        plist = [p if isinstance(p, T.Param) else T.Param(*p) for p in params]
        if variadic:
            plist.append(T.Param("", 0))
        return self.add(T.FuncProto(0, "", return_type, tuple(plist)))

    def add_func(self, name: str, proto: int, linkage: Linkage = Linkage.GLOBAL) -> int:
        return self.add(T.Func(0, name, proto, linkage))

    def add_var(self, name: str, var_type: int, linkage: Linkage = Linkage.GLOBAL) -> int:
        return self.add(T.Var(0, name, var_type, linkage))

    def add_datasec(self, name: str, variables: Sequence[tuple[int, int, int] | T.VarSecinfo],
                    size: int | None = None) -> int:
        """``variables`` as ``(var_id, offset, size)``; ``size`` defaults to the end of the last one."""
        infos = tuple(v if isinstance(v, T.VarSecinfo) else T.VarSecinfo(*v) for v in variables)
        if size is None:
            size = max((v.offset + v.size for v in infos), default=0)
        return self.add(T.Datasec(0, name, size, infos))

    # ---- encoding ------------------------------------------------------------------------------

    def _str(self, s: str) -> int:
        off = self._string_offsets.get(s)
        if off is None:
            off = self._string_offsets[s] = self._str_base + len(self._strings)
            self._strings += s.encode() + b"\0"
        return off

    def to_bytes(self) -> bytes:
        """Header, type section and string section, in this machine's byte order (as BPF_BTF_LOAD wants)."""
        words = array("I")
        for t in self._types:
            words.extend(self._encode(t))
        types = words.tobytes()
        strings = bytes(self._strings)
        header = struct.pack("=HBBIIIII", BTF_MAGIC, BTF_VERSION, 0, HEADER_SIZE, 0, len(types), len(types),
                             len(strings))
        return header + types + strings

    def to_btf(self) -> BTF:
        """Read back what was built (a split BTF on ``base`` if the builder has one)."""
        return BTF.from_bytes(self.to_bytes(), base=self.base, name="built")

    def _encode(self, t: T.Type) -> list[int]:
        kind = t.kind
        name = self._str(t.name)

        def head(vlen: int, size_type: int, kflag: bool = False) -> list[int]:
            if vlen > MAX_VLEN:
                raise InvalidInputError(f"{kind.name} {t.display_name!r} has {vlen} entries; BTF allows {MAX_VLEN}")
            return [name, (int(kflag) << 31) | (int(kind) << 24) | vlen, size_type & 0xFFFFFFFF]

        if kind == Kind.INT:
            return head(0, t.size) + [(t.encoding << 24) | (t.bit_offset << 16) | t.bits]
        if kind in (Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG):
            return head(0, t.type)
        if kind == Kind.ARRAY:
            return head(0, 0) + [t.type, t.index_type, t.nelems]
        if kind in (Kind.STRUCT, Kind.UNION):
            kflag = any(m.bitfield_size for m in t.members)
            out = head(len(t.members), t.size, kflag)
            for m in t.members:
                off = (m.bitfield_size << 24 | m.bit_offset) if kflag else m.bit_offset
                out += [self._str(m.name), m.type, off]
            return out
        if kind == Kind.ENUM:
            out = head(len(t.values), t.size, t.signed)
            for v in t.values:
                out += [self._str(v.name), v.value & 0xFFFFFFFF]
            return out
        if kind == Kind.ENUM64:
            out = head(len(t.values), t.size, t.signed)
            for v in t.values:
                u = v.value & 0xFFFFFFFFFFFFFFFF
                out += [self._str(v.name), u & 0xFFFFFFFF, u >> 32]
            return out
        if kind == Kind.FWD:
            return head(0, 0, t.is_union)
        if kind == Kind.FUNC:
            return head(int(t.linkage), t.type)
        if kind == Kind.FUNC_PROTO:
            out = head(len(t.params), t.return_type)
            for p in t.params:
                out += [self._str(p.name), p.type]
            return out
        if kind == Kind.VAR:
            return head(0, t.type) + [int(t.linkage)]
        if kind == Kind.DATASEC:
            out = head(len(t.vars), t.size)
            for v in t.vars:
                out += [v.type, v.offset, v.size]
            return out
        if kind == Kind.FLOAT:
            return head(0, t.size)
        if kind == Kind.DECL_TAG:
            return head(0, t.type) + [t.component_idx & 0xFFFFFFFF]
        raise InvalidInputError(f"cannot encode BTF kind {kind.name}")


def _refs(t: T.Type) -> list[int]:
    if isinstance(t, T.Composite):
        return [m.type for m in t.members]
    if isinstance(t, T.FuncProto):
        return [t.return_type, *(p.type for p in t.params)]
    if isinstance(t, T.Datasec):
        return [v.type for v in t.vars]
    if isinstance(t, T.Array):
        return [t.type, t.index_type]
    ref = getattr(t, "type", None)
    return [ref] if ref is not None else []
