"""``Record``: the base of the few value classes every program load builds.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis`` and
``tokenize``): ~5 ms, and each decorated class costs up to a millisecond more
to build, a fifth of a ready tool's start-up.  ``Instruction``, ``ProgramSpec``
and ``MapSpec`` therefore write their ``__init__`` out and list their fields
in ``_fields``; equality, ``repr`` and :meth:`Record.replace` (the
``dataclasses.replace`` of these classes) come from here, with a dataclass's
semantics: equal when of the same class with equal fields, unhashable.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs ~2 ms to import: only type checkers read these
if TYPE_CHECKING:
    from typing import Any, TypeVar

    R = TypeVar("R", bound="Record")


class Record:
    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({values})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable: like a dataclass with eq and without frozen

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` applied, made through ``__init__`` (an unknown field is a TypeError)."""
        return type(self)(**{**{name: getattr(self, name) for name in self._fields}, **changes})
