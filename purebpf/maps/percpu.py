"""Per-CPU hash and array maps: one value slot per possible CPU.

A lookup returns ``round_up(value_size, 8) * possible_cpus()`` bytes, so the
typed value is a list with one item per CPU (``sum(m[k])`` totals a counter).
An update takes such a list, or a single value written to every CPU.
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError
from purebpf.maps.array import ArrayMap
from purebpf.maps.map import Map, MapSpec, require_positive
from purebpf.sys.cpus import possible_cpus

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class PerCPUMap(Map):
    """Shared by per-CPU hash, LRU per-CPU hash and per-CPU array maps."""

    @property
    def ncpus(self) -> int:
        return possible_cpus()

    @property
    def slot_size(self) -> int:
        """Bytes per CPU: value_size rounded up to 8 (the kernel's per-CPU alignment)."""
        return (self.value_size + 7) & ~7

    @property
    def value_bytes(self) -> int:
        return self.slot_size * self.ncpus

    def _value(self, value: Any) -> bytes:
        n, size = self.ncpus, self.value_size
        items = value if isinstance(value, list) else [value] * n
        if len(items) != n:
            raise InvalidInputError(f"{self._what()} needs a list of {n} values (one per possible CPU), "
                                    f"got {len(items)}; or pass one value for every CPU")
        slots = []
        for item in items:
            data = self.value_codec.encode(item)
            if len(data) != size:
                raise InvalidInputError(f"value is {len(data)} bytes but {self._what()} has {size}-byte values")
            slots.append(data.ljust(self.slot_size, b"\0"))
        return b"".join(slots)

    def _decode_value(self, raw: bytes) -> list[Any]:
        decode, slot, size = self.value_codec.decode, self.slot_size, self.value_size
        return [decode(raw[i:i + size]) for i in range(0, len(raw), slot)]

    def sum(self, key: Any, default: Any = 0) -> Any:
        """The per-CPU values of ``key`` added up (``default`` when absent)."""
        values = self.get(key)
        return default if values is None else sum(values)


class PerCPUHashMap(PerCPUMap):
    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_positive(spec, "key_size", "value_size", "max_entries")


class PerCPUArrayMap(PerCPUMap, ArrayMap):
    """Sizes are checked as for arrays (u32 keys), values as per-CPU slots."""
