"""Maps of maps (4.12+): an array or hash whose values are other maps.

The kernel fixes the inner maps' shape at creation from a template map
(``inner_map_fd``); pass ``inner_map=`` a Map (its fd is used) or a MapSpec
(a throw-away template is created from it).  Updates take a Map (or map fd);
lookups return the inner map's id, :meth:`get_map` opens it::

    outer = Map(MapType.ARRAY_OF_MAPS, 4, 4, 8, inner_map=MapSpec(MapType.HASH, 4, 8, 64))
    outer[0] = Map(MapType.HASH, 4, 8, 64)
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError
from purebpf.maps.codec import Codec, FdCodec, fd_of
from purebpf.maps.map import Map, MapSpec, require_positive, require_size

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class _MapOfMaps(Map):
    btf_value_codec = False  # map fd in, map id out

    def __init__(self, type_: Any, key_size: int = 0, value_size: int = 0, max_entries: int = 0, *,
                 inner_map: Map | MapSpec | int | None = None, **kwargs: Any) -> None:
        if isinstance(inner_map, MapSpec):
            kwargs["inner"] = inner_map
        elif inner_map is not None:
            kwargs["inner_map_fd"] = fd_of(inner_map)
        super().__init__(type_, key_size, value_size, max_entries, **kwargs)

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "value_size", 4, "the value is an inner map fd in, its id out")
        require_positive(spec, "max_entries")
        if not spec.inner_map_fd and spec.inner is None:
            raise InvalidInputError(f"{spec.describe()} needs a template for its inner maps: pass inner_map=<Map> "
                                    "or inner_map=MapSpec(...)")

    def _create(self, spec: MapSpec) -> int:
        if spec.inner_map_fd or spec.inner is None:
            return super()._create(spec)
        with Map(spec.inner) as template:
            return super()._create(spec.replace(inner_map_fd=template.fd))

    def _default_value_codec(self) -> Codec:
        return FdCodec(self.value_size)

    def get_map(self, key: Any, **codecs: Any) -> Map | None:
        """Open the inner map stored at ``key`` (a new fd), or None when the slot is empty."""
        map_id = self.get(key)
        return None if map_id is None else Map.from_id(map_id, **codecs)


class ArrayOfMaps(_MapOfMaps):
    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 4, "the key is a u32 index")
        super()._check_spec(spec)


class HashOfMaps(_MapOfMaps):
    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_positive(spec, "key_size")
        super()._check_spec(spec)
