"""Bloom filter maps (5.16+): set membership with false positives, no keys.

``push(item)`` adds; ``item in m`` is False when the item was surely never
added and True when it probably was.  ``nr_hashes`` (1..15, kernel default 5)
goes in ``map_extra``; more hashes lower false positives but cost time.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

from purebpf.errors import InvalidInputError, NotSupportedError
from purebpf.maps.map import Map, MapSpec, require_positive, require_size
from purebpf.sys import Cmd, UpdateFlags, bpf_raw

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class BloomFilterMap(Map):
    def __init__(self, type_: Any, key_size: int = 0, value_size: int = 0, max_entries: int = 0, *,
                 nr_hashes: int = 0, **kwargs: Any) -> None:
        if nr_hashes:
            kwargs["map_extra"] = nr_hashes
        super().__init__(type_, key_size, value_size, max_entries, **kwargs)

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 0, "bloom filters have no keys")
        require_positive(spec, "value_size", "max_entries")
        if not 0 <= spec.map_extra <= 15:
            raise InvalidInputError(f"{spec.describe()} takes 1..15 hash functions (map_extra), got {spec.map_extra}")

    @property
    def nr_hashes(self) -> int:
        return self.spec.map_extra or 5

    def push(self, item: Any) -> None:
        self._update(None, self._value(item), UpdateFlags.ANY, item)

    def __contains__(self, item: Any) -> bool:
        # the item goes in the value buffer: the kernel reads it, hashes it, answers 0 or ENOENT
        return self._lookup_item(self._value(item), item)

    def _lookup_item(self, data: bytes, shown: Any) -> bool:
        vbuf = ctypes.create_string_buffer(data, len(data))
        ret, err = bpf_raw(Cmd.MAP_LOOKUP_ELEM, self._elem_attr(None, vbuf))
        if ret < 0:
            if err == errno.ENOENT:  # surely absent
                return False
            raise self._elem_error(Cmd.MAP_LOOKUP_ELEM, err, shown)
        return True

    def _no_keys(self) -> NotSupportedError:
        return NotSupportedError(f"{self._what()} has no keys: use push(item) and `item in filter`")

    def keys_raw(self) -> Iterator[bytes]:
        raise self._no_keys()

    def _delete(self, key: bytes, shown: Any) -> bool:
        raise self._no_keys()

    def __getitem__(self, key: Any) -> Any:
        raise self._no_keys()

    def __len__(self) -> int:
        raise self._no_keys()
