"""Array maps: ``max_entries`` preallocated slots indexed by a u32.

Every index always exists (zero-filled at creation) and cannot be deleted;
set a slot to zero instead.
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError
from purebpf.maps.map import Map, MapSpec, require_positive, require_size

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class ArrayMap(Map):
    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 4, "the key is a u32 index")
        require_positive(spec, "value_size", "max_entries")

    def _delete(self, key: bytes, shown: Any) -> bool:
        raise InvalidInputError(f"cannot delete index {shown} of {self._what()}: array slots always exist; "
                                "set the slot to zero instead")

    def __len__(self) -> int:
        return self.max_entries
