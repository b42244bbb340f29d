"""Sizes, alignments and member offsets computed from BTF, as a C compiler lays them out.

Works over anything with ``type_by_id`` (the reader and the builder), so
generated BTF and kernel BTF answer the same questions the same way.
"""

from __future__ import annotations

import re
from typing import Protocol

from purebpf.btf.kinds import Kind
from purebpf.btf.types import MODIFIER_KINDS, Array, Composite, Member, Type
from purebpf.errors import InvalidInputError, NotFoundError

_SIZED = frozenset({Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.STRUCT, Kind.UNION, Kind.FLOAT, Kind.DATASEC})
_STEP = re.compile(r"([A-Za-z_]\w*)((?:\[\d+\])*)$")


class TypeSource(Protocol):
    pointer_size: int

    def type_by_id(self, type_id: int) -> Type: ...


class Layout:
    """Memoised size/alignment answers for one type source."""

    def __init__(self, types: TypeSource) -> None:
        self.types = types
        self._ptr_size = 0
        self._align: dict[int, int] = {}
        self._packed: dict[int, bool] = {}

    @property
    def ptr_size(self) -> int:
        if not self._ptr_size:
            self._ptr_size = self.types.pointer_size
        return self._ptr_size

    def resolve(self, type_id: int) -> Type:
        """Follow typedefs, qualifiers and type tags down to the type they name."""
        t = self.types.type_by_id(type_id)
        seen = 0
        while t.kind in MODIFIER_KINDS:
            t = self.types.type_by_id(t.type)
            seen += 1
            if seen > 64:
                raise InvalidInputError(f"BTF type #{type_id} is a loop of typedefs/qualifiers")
        return t

    def sizeof(self, type_id: int) -> int:
        t = self.resolve(type_id)
        kind = t.kind
        if kind in _SIZED:
            return t.size
        if kind == Kind.PTR:
            return self.ptr_size
        if kind == Kind.ARRAY:
            return t.nelems * self.sizeof(t.type)
        if kind == Kind.VAR:
            return self.sizeof(t.type)
        raise InvalidInputError(f"BTF type #{t.id} ({kind.name} {t.display_name!r}) has no size")

    def alignof(self, type_id: int) -> int:
        got = self._align.get(type_id)
        if got is None:
            got = self._align[type_id] = self._alignof(self.resolve(type_id))
        return got

    def _alignof(self, t: Type) -> int:
        kind = t.kind
        if kind in (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FLOAT):
            return max(1, min(t.size, self.ptr_size))
        if kind == Kind.PTR:
            return self.ptr_size
        if kind == Kind.ARRAY:
            return self.alignof(t.type)
        if kind in (Kind.STRUCT, Kind.UNION):
            if self.is_packed(t):
                return 1
            return self.natural_align(t)
        if kind == Kind.VAR:
            return self.alignof(t.type)
        raise InvalidInputError(f"BTF type #{t.id} ({kind.name} {t.display_name!r}) has no alignment")

    def natural_align(self, t: Composite) -> int:
        """Alignment the members alone give a struct (what it has when not packed)."""
        return max((self.alignof(m.type) for m in t.members), default=1)

    def is_packed(self, t: Composite) -> bool:
        """True when C's natural layout cannot reproduce the BTF offsets or size.

        That happens for ``__attribute__((packed))`` structs: a member off its
        natural alignment, a bitfield straddling its storage unit, or a size
        that is not a multiple of the members' alignment.
        """
        got = self._packed.get(t.id)
        if got is None:
            got = self._packed[t.id] = self._is_packed(t)
        return got

    def _is_packed(self, t: Composite) -> bool:
        max_align = 1
        for m in t.members:
            align = self.alignof(m.type)
            max_align = max(max_align, align)
            if m.bitfield_size:
                unit = self.sizeof(m.type) * 8
                if unit and m.bit_offset // unit != (m.bit_offset + m.bitfield_size - 1) // unit:
                    return True
            elif m.bit_offset % (align * 8):
                return True
        return t.size % max_align != 0

    # ---- members ---------------------------------------------------------------------------

    def find_member(self, t: Composite, name: str) -> tuple[Member, int] | None:
        """``name`` in ``t`` or in its anonymous struct/union members, with its bit offset from ``t``."""
        for m in t.members:
            if m.name == name:
                return m, m.bit_offset
        for m in t.members:
            if m.name:
                continue
            inner = self.resolve(m.type)
            if isinstance(inner, Composite):
                found = self.find_member(inner, name)
                if found is not None:
                    return found[0], m.bit_offset + found[1]
        return None

    def member_path(self, type_id: int, path: str) -> tuple[int, Member]:
        """Bit offset of ``path`` (``"a.b[2].c"``) from the start of type ``type_id``, and the last member."""
        root = self.resolve(type_id)
        cur, bits, member = root, 0, None
        for step in path.split("."):
            match = _STEP.match(step.strip())
            if match is None:
                raise InvalidInputError(f"bad member path {path!r}: {step!r} is not 'name' or 'name[index]'")
            if not isinstance(cur, Composite):
                raise InvalidInputError(f"{path!r}: {cur.display_name!r} is a {cur.kind.name}, not a struct or union")
            found = self.find_member(cur, match.group(1))
            if found is None:
                raise NotFoundError(f"{cur.kind.name.lower()} {cur.display_name} has no member "
                                    f"{match.group(1)!r} (path {path!r})")
            member, offset = found
            bits += offset
            type_id = member.type
            for index in re.findall(r"\[(\d+)\]", match.group(2)):
                arr = self.resolve(type_id)
                if not isinstance(arr, Array):
                    raise InvalidInputError(f"{path!r}: member {member.name!r} is not an array")
                if int(index) >= arr.nelems:
                    raise InvalidInputError(f"{path!r}: index {index} beyond {member.name}[{arr.nelems}]")
                bits += int(index) * self.sizeof(arr.type) * 8
                type_id = arr.type
            cur = self.resolve(type_id)
        assert member is not None
        return bits, member
