"""Ring buffer maps (``RINGBUF``, 5.8+; ``USER_RINGBUF``, 6.1+): creation only.

A ring buffer has no keys or values: programs reserve and submit records and
user space reads them through ``mmap`` with :mod:`purebpf.events`.
``max_entries`` is the data area in bytes: a power of 2 and a multiple of the
page size.
"""

from __future__ import annotations

import mmap

from purebpf.errors import InvalidInputError, NotSupportedError
from purebpf.maps.map import Map, MapSpec, require_size

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


def _is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class RingBufMap(Map):
    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 0, "ring buffers have no keys")
        require_size(spec, "value_size", 0, "ring buffers have no values")
        size, page = spec.max_entries, mmap.PAGESIZE
        if not _is_power_of_2(size) or size % page:
            hint = max(page, 1 << max(size - 1, 0).bit_length())
            raise InvalidInputError(f"{spec.describe()} needs max_entries (its size in bytes) to be a power of 2 "
                                    f"and a multiple of the page size {page}, got {size}; try {hint}")

    def _no_elements(self) -> NotSupportedError:
        return NotSupportedError(f"{self._what()} has no elements to look up or update: read its records with "
                                 "purebpf.events (a ring buffer reader), or write them from a program")

    def _lookup(self, key: bytes | None, *args: Any, **kwargs: Any) -> bytes | None:
        raise self._no_elements()

    def _update(self, key: bytes | None, value: bytes, flags: int, shown: Any) -> None:
        raise self._no_elements()

    def _delete(self, key: bytes, shown: Any) -> bool:
        raise self._no_elements()

    def keys_raw(self) -> Iterator[bytes]:
        raise self._no_elements()
