"""Queue (FIFO) and stack (LIFO) maps, 4.20+: values without keys.

``push`` adds a value (``UpdateFlags.EXIST`` overwrites the oldest one when
full), ``pop`` removes and returns the next one, ``peek`` returns it without
removing.  The kernel does this with LOOKUP(_AND_DELETE) and a NULL key.
"""

from __future__ import annotations

import errno as E
from collections.abc import Iterator

from purebpf.errors import NotFoundError, NotSupportedError, SyscallError
from purebpf.maps.map import MISSING, Map, MapSpec, require_positive, require_size
from purebpf.sys import Cmd, UpdateFlags

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class QueueMap(Map):
    order = "FIFO"

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 0, f"{spec.type.name.lower()} maps have no keys")
        require_positive(spec, "value_size", "max_entries")

    def push(self, value: Any, flags: int = UpdateFlags.ANY) -> None:
        """Add ``value``; when full, raise unless ``flags=UpdateFlags.EXIST`` (drop the oldest)."""
        try:
            self._update(None, self._value(value), flags, None)
        except SyscallError as exc:
            if exc.errno != E.E2BIG:
                raise
            raise SyscallError(f"{self._what()} is full (max_entries {self.max_entries}): pop values first or "
                               "push with flags=UpdateFlags.EXIST to replace the oldest", exc.errno, exc.op) from None

    def _next(self, cmd: Cmd, default: Any) -> Any:
        raw = self._lookup(None, cmd)
        if raw is None:
            if default is MISSING:
                raise NotFoundError(f"{self._what()} is empty")
            return default
        return self._decode_value(raw)

    def pop(self, default: Any = MISSING) -> Any:  # type: ignore[override]
        """Remove and return the next value; NotFoundError (or ``default``) when empty."""
        return self._next(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, default)

    def peek(self, default: Any = MISSING) -> Any:
        """The next value, left in place; NotFoundError (or ``default``) when empty."""
        return self._next(Cmd.MAP_LOOKUP_ELEM, default)

    def drain(self) -> Iterator[Any]:
        """Pop until empty."""
        while (value := self.pop(None)) is not None:
            yield value

    def _no_keys(self) -> NotSupportedError:
        return NotSupportedError(f"{self._what()} has no keys: use push(), pop(), peek() or drain()")

    def keys_raw(self) -> Iterator[bytes]:
        raise self._no_keys()

    def _delete(self, key: bytes, shown: Any) -> bool:
        raise self._no_keys()

    def __len__(self) -> int:
        raise self._no_keys()


class StackMap(QueueMap):
    order = "LIFO"
