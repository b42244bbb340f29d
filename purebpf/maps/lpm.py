"""Longest-prefix-match tries: keys are prefixes, lookups find the longest match.

The key is ``struct { u32 prefixlen; u8 data[key_size - 4]; }`` with the data in
network byte order.  Typed keys are ``(prefixlen, bytes)`` pairs or, for 4- and
16-byte data, :mod:`ipaddress` networks (``ip_network("10.0.0.0/8")``, a string
``"10.0.0.0/8"``, or an address = its full-length prefix)::

    m = Map(MapType.LPM_TRIE, 8, 4, 64, flags=MapFlags.NO_PREALLOC)
    m["10.0.0.0/8"] = 1
    m[ipaddress.ip_address("10.1.2.3")]   # -> 1

The kernel requires ``MapFlags.NO_PREALLOC`` (tries allocate per node).
"""

from __future__ import annotations

import ipaddress

from purebpf.errors import InvalidInputError
from purebpf.maps.codec import Codec
from purebpf.maps.map import Map, MapSpec, require_positive
from purebpf.sys import MapFlags

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any

LPM_DATA_SIZE_MAX = 256
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class LpmKeyCodec:
    """``(prefixlen, data)`` or ipaddress values <-> LPM key bytes.

    ``as_network`` decodes 4/16-byte keys as ip networks (else as pairs)."""

    def __init__(self, size: int, as_network: bool = True) -> None:
        if not 4 < size <= 4 + LPM_DATA_SIZE_MAX:
            raise InvalidInputError(f"LPM keys are 4 + 1..{LPM_DATA_SIZE_MAX} bytes, not {size}")
        self.size = size
        self.data_size = size - 4
        self.as_network = as_network and self.data_size in (4, 16)

    def _pair(self, value: Any) -> tuple[int, bytes]:
        if isinstance(value, str):
            try:
                value = ipaddress.ip_network(value, strict=False)
            except ValueError as exc:
                raise InvalidInputError(f"bad LPM key {value!r}: {exc}") from None
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return value.max_prefixlen, value.packed
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return value.prefixlen, value.network_address.packed
        if isinstance(value, tuple) and len(value) == 2:
            prefixlen, data = value
            if isinstance(data, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                data = data.packed
            return int(prefixlen), bytes(data)
        raise InvalidInputError(f"LPM keys are (prefixlen, bytes) or ip networks/addresses, got {value!r}")

    def encode(self, value: Any) -> bytes:
        prefixlen, data = self._pair(value)
        if len(data) != self.data_size:
            raise InvalidInputError(f"LPM key data is {len(data)} bytes but the trie holds {self.data_size}-byte "
                                    f"prefixes (key_size {self.size} = 4 + {self.data_size})")
        if not 0 <= prefixlen <= 8 * self.data_size:
            raise InvalidInputError(f"prefix length {prefixlen} is outside 0..{8 * self.data_size}")
        return prefixlen.to_bytes(4, "little") + data

    def decode(self, data: bytes) -> Network | tuple[int, bytes]:
        prefixlen, body = int.from_bytes(data[:4], "little"), bytes(data[4:])
        if self.as_network:
            return ipaddress.ip_network((body, prefixlen), strict=False)
        return prefixlen, body


class LpmTrieMap(Map):
    btf_key_codec = False  # prefixes read as networks, not as the key struct

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        if not 4 < spec.key_size <= 4 + LPM_DATA_SIZE_MAX:
            raise InvalidInputError(f"{spec.describe()} needs key_size 5..{4 + LPM_DATA_SIZE_MAX} "
                                    f"(a u32 prefix length + 1..{LPM_DATA_SIZE_MAX} data bytes), got {spec.key_size}")
        if not spec.flags & MapFlags.NO_PREALLOC:
            raise InvalidInputError(f"{spec.describe()} needs flags=MapFlags.NO_PREALLOC "
                                    "(the kernel refuses preallocated tries)")
        require_positive(spec, "value_size", "max_entries")

    def _default_key_codec(self) -> Codec:
        return LpmKeyCodec(self.key_size)
