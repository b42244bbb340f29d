"""The BTF type model: one frozen dataclass per kind.

Types refer to each other by type id (``type``, ``members[i].type``...), not by
object, so decoding one type never drags in the graph behind it; ask the
:class:`~purebpf.btf.spec.BTF` that produced it for ``type_by_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from purebpf.btf.kinds import IntEncoding, Kind, Linkage


@dataclass(frozen=True, slots=True)
class Type:
    id: int
    name: str

    kind: ClassVar[Kind] = Kind.UNKN

    @property
    def display_name(self) -> str:
        """The name as bpftool prints it: ``(anon)`` for anonymous types."""
        return self.name or "(anon)"


class Void(Type):
    """Type id 0: ``void``, the return type of procedures and the target of ``void *``."""
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Int(Type):
    size: int
    encoding: int
    bits: int
    bit_offset: int = 0
    kind: ClassVar[Kind] = Kind.INT

    @property
    def signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)

    @property
    def is_char(self) -> bool:
        return bool(self.encoding & IntEncoding.CHAR)

    @property
    def is_bool(self) -> bool:
        return bool(self.encoding & IntEncoding.BOOL)


@dataclass(frozen=True, slots=True)
class Pointer(Type):
    type: int
    kind: ClassVar[Kind] = Kind.PTR


@dataclass(frozen=True, slots=True)
class Array(Type):
    type: int
    index_type: int
    nelems: int
    kind: ClassVar[Kind] = Kind.ARRAY


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0


@dataclass(frozen=True, slots=True)
class Composite(Type):
    """Common shape of STRUCT and UNION."""
    size: int
    members: tuple[Member, ...]

    def member(self, name: str) -> Member | None:
        """The directly contained member called ``name`` (not looking into anonymous members)."""
        for m in self.members:
            if m.name == name:
                return m
        return None


class Struct(Composite):
    kind: ClassVar[Kind] = Kind.STRUCT
    __slots__ = ()


class Union(Composite):
    kind: ClassVar[Kind] = Kind.UNION
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str
    value: int


@dataclass(frozen=True, slots=True)
class Enum(Type):
    size: int
    signed: bool
    values: tuple[EnumValue, ...]
    kind: ClassVar[Kind] = Kind.ENUM


class Enum64(Enum):
    kind: ClassVar[Kind] = Kind.ENUM64
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Fwd(Type):
    is_union: bool = False
    kind: ClassVar[Kind] = Kind.FWD


@dataclass(frozen=True, slots=True)
class Typedef(Type):
    type: int
    kind: ClassVar[Kind] = Kind.TYPEDEF


@dataclass(frozen=True, slots=True)
class Qualifier(Type):
    """Common shape of VOLATILE, CONST and RESTRICT: anonymous, wraps ``type``."""
    type: int


class Volatile(Qualifier):
    kind: ClassVar[Kind] = Kind.VOLATILE
    __slots__ = ()


class Const(Qualifier):
    kind: ClassVar[Kind] = Kind.CONST
    __slots__ = ()


class Restrict(Qualifier):
    kind: ClassVar[Kind] = Kind.RESTRICT
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class TypeTag(Type):
    """``__attribute__((btf_type_tag(name)))`` on ``type`` (e.g. ``__user``, ``__rcu``)."""
    type: int
    kind: ClassVar[Kind] = Kind.TYPE_TAG


@dataclass(frozen=True, slots=True)
class Func(Type):
    type: int  # the FUNC_PROTO
    linkage: Linkage = Linkage.STATIC
    kind: ClassVar[Kind] = Kind.FUNC


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: int


@dataclass(frozen=True, slots=True)
class FuncProto(Type):
    return_type: int
    params: tuple[Param, ...]
    kind: ClassVar[Kind] = Kind.FUNC_PROTO

    @property
    def variadic(self) -> bool:
        """BTF marks ``...`` as a last parameter with neither name nor type."""
        return bool(self.params) and self.params[-1].type == 0 and not self.params[-1].name


@dataclass(frozen=True, slots=True)
class Var(Type):
    type: int
    linkage: Linkage = Linkage.STATIC
    kind: ClassVar[Kind] = Kind.VAR


@dataclass(frozen=True, slots=True)
class VarSecinfo:
    type: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Datasec(Type):
    size: int
    vars: tuple[VarSecinfo, ...]
    kind: ClassVar[Kind] = Kind.DATASEC


@dataclass(frozen=True, slots=True)
class Float(Type):
    size: int
    kind: ClassVar[Kind] = Kind.FLOAT


@dataclass(frozen=True, slots=True)
class DeclTag(Type):
    """A tag on a declaration: on ``type`` itself (component_idx -1) or on one member/param."""
    type: int
    component_idx: int = -1
    kind: ClassVar[Kind] = Kind.DECL_TAG


# types that only qualify or rename another type; skipped by ``resolve``
MODIFIER_KINDS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
