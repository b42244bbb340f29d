"""``IntConst`` and ``IntFlagConst``: the kernel's numbered constants
(``ProgType.KPROBE``, ``JmpOp.JEQ``, ``MapFlags.MMAPABLE``) with the behaviour of
``enum.IntEnum`` / ``enum.IntFlag``, built for a fraction of the cost.

``enum`` builds each member through descriptors and several checks: the ~310
members of purebpf.sys and purebpf.asm took ~3 ms to create, an eighth of a
ready tool's start-up (~1 ms here), and ``enum`` itself imports ``functools``
and ``collections`` (~2.5 ms with them).  Here a class is built in one pass
that turns each public plain ``int`` attribute into a member.  What callers rely on is kept: members are
instances of their class (``isinstance(x, Reg)`` tells a register from a
number) and ints everywhere (hash, ``==``, ctypes fields, JSON); ``.name`` and
``.value``; ``Cls(value)`` and ``Cls["NAME"]`` look-ups with enum's errors;
iteration in definition order without aliases, ``len``, ``__members__``;
IntEnum's ``str``/``format`` (the number) and ``repr`` (``<Cls.NAME: n>``);
copies and pickles that are the member itself.  Flags stay flags under ``|``,
``&``, ``^`` and ``~``, with a combined name (``RDONLY|MMAPABLE``).
``value in Cls`` is true for members and their values (enum 3.12's meaning).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any


class _ConstType(type):
    """Metaclass: a class body's public int attributes become its members."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _ConstType:
        cls = super().__new__(mcls, name, bases, ns)
        members: dict[str, Any] = {}
        by_value: dict[int, Any] = {}
        for key, value in ns.items():
            if type(value) is not int or key[0] == "_":
                continue
            member = by_value.get(value)
            if member is None:  # an alias (a second name for a value) is the first member itself
                member = int.__new__(cls, value)
                member._name_ = key
                by_value[value] = member
            members[key] = member
            type.__setattr__(cls, key, member)
        cls._member_map_ = members
        cls._value2member_map_ = by_value
        cls._canonical_ = [m for m in by_value.values() if cls._listed(m)]
        return cls

    def __call__(cls, value: Any) -> Any:
        member = cls._value2member_map_.get(value)
        if member is not None:
            return member
        if isinstance(value, int) and not isinstance(value, bool):
            pseudo = cls._pseudo(int(value))
            if pseudo is not None:
                return pseudo
        raise ValueError(f"{value!r} is not a valid {cls.__qualname__}")

    def __getitem__(cls, name: str) -> Any:
        return cls._member_map_[name]

    def __iter__(cls) -> Iterator[Any]:
        return iter(cls._canonical_)

    def __reversed__(cls) -> Iterator[Any]:
        return reversed(cls._canonical_)

    def __len__(cls) -> int:
        return len(cls._canonical_)

    def __bool__(cls) -> bool:  # a class with __len__ would otherwise be false when it has no members
        return True

    def __contains__(cls, value: object) -> bool:
        return (isinstance(value, cls) and int(value) in cls._value2member_map_) or (
            type(value) is int and value in cls._value2member_map_)

    @property
    def __members__(cls) -> Mapping[str, Any]:
        import types

        return types.MappingProxyType(cls._member_map_)

    def __setattr__(cls, name: str, value: object) -> None:
        if name in cls.__dict__.get("_member_map_", ()):
            raise AttributeError(f"cannot reassign member {name!r} of {cls.__qualname__}")
        super().__setattr__(name, value)


class IntConst(int, metaclass=_ConstType):
    """Base of a class of named integer constants (an ``IntEnum`` stand-in)."""

    _name_: str | None

    @classmethod
    def _listed(cls, member: IntConst) -> bool:
        """Whether iteration lists this (non-alias) member."""
        return True

    @classmethod
    def _pseudo(cls, value: int) -> IntConst | None:
        """The member standing for a value no name has (flag combinations), if any."""
        return None

    @property
    def name(self) -> str | None:
        return self._name_

    @property
    def value(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self._name_}: {int(self)}>"

    __str__ = int.__repr__  # as IntEnum: str() and format() give the number

    def __format__(self, spec: str) -> str:
        return int.__format__(int(self), spec) if spec or type(self).__str__ is IntConst.__str__ \
            else str(self)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, tuple[int]]:
        return type(self), (int(self),)

    def __copy__(self) -> IntConst:
        return self

    def __deepcopy__(self, memo: Any) -> IntConst:
        return self


class IntFlagConst(IntConst):
    """Base of a class of bit flags (an ``IntFlag`` stand-in): combinations
    stay of the class, and are named by their flags (``A|B``)."""

    @classmethod
    def _listed(cls, member: Any) -> bool:
        v = int(member)
        return v != 0 and v & (v - 1) == 0  # as IntFlag: iteration lists the single-bit flags

    @classmethod
    def _pseudo(cls, value: int) -> IntFlagConst:
        if value < 0:  # as IntFlag: a negative value stands for its bits within the flags' width
            value &= cls._mask()
        named = [m._name_ for m in cls._canonical_ if value & m == m]
        rest = value & ~sum(int(m) for m in cls._canonical_)
        member = int.__new__(cls, value)
        member._name_ = "|".join(named + ([str(rest)] if rest else [])) if named else None
        return member

    @classmethod
    def _mask(cls) -> int:
        """Every bit up to the highest flag's."""
        return (1 << max((int(m) for m in cls._canonical_), default=0).bit_length()) - 1

    def __repr__(self) -> str:
        if self._name_ is None:
            return f"<{type(self).__name__}: {int(self)}>"
        return super().__repr__()

    def __or__(self, other: Any) -> Any:
        return type(self)(int(self) | other) if isinstance(other, int) else NotImplemented

    def __and__(self, other: Any) -> Any:
        return type(self)(int(self) & other) if isinstance(other, int) else NotImplemented

    def __xor__(self, other: Any) -> Any:
        return type(self)(int(self) ^ other) if isinstance(other, int) else NotImplemented

    __ror__, __rand__, __rxor__ = __or__, __and__, __xor__

    def __contains__(self, other: object) -> bool:
        return isinstance(other, int) and int(self) & other == other

    def __iter__(self) -> Iterator[IntFlagConst]:
        return (m for m in type(self)._canonical_ if m in self)

    def __invert__(self) -> IntFlagConst:
        return type(self)(~int(self) & self._mask())
