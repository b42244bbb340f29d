"""Socket maps (4.14+ sockmap, 4.18+ sockhash): key -> socket, for sk_msg/sk_skb
redirection and sockops acceleration.

Updates take a socket (or its fd); TCP sockets must be established or
listening, UDP and unix sockets work on newer kernels.  Lookups return the
socket's cookie (``SO_COOKIE``), which the kernel only does for maps with
``value_size`` 8; with ``value_size`` 4 a lookup is refused.
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError, NotSupportedError
from purebpf.maps.codec import Codec, FdCodec
from purebpf.maps.map import Map, MapSpec, require_positive, require_size
from purebpf.sys import Cmd

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class _SocketMap(Map):
    btf_value_codec = False  # fd in, cookie out

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        if spec.value_size == 0:
            spec.value_size = 8
        if spec.value_size not in (4, 8):
            raise InvalidInputError(f"{spec.describe()} needs value_size 4 (socket fd) or 8 (fd in, cookie out), "
                                    f"got {spec.value_size}")
        require_positive(spec, "max_entries")

    def _default_value_codec(self) -> Codec:
        return FdCodec(self.value_size)

    def _lookup(self, key: bytes | None, cmd: Cmd = Cmd.MAP_LOOKUP_ELEM, *args: Any, **kwargs: Any) -> bytes | None:
        if self.value_size != 8:
            raise NotSupportedError(f"{self._what()} has value_size 4: the kernel returns socket cookies only "
                                    "for maps created with value_size 8")
        return super()._lookup(key, cmd, *args, **kwargs)


class SockMap(_SocketMap):
    """u32 index -> socket.  Like arrays, ``keys()`` lists every index; ``items()`` only filled ones."""

    def __len__(self) -> int:
        return sum(1 for _ in self.items_raw())

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 4, "the key is a u32 index")
        super()._check_spec(spec)


class SockHash(_SocketMap):
    """Any key (often a 4-tuple) -> socket."""

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_positive(spec, "key_size")
        super()._check_spec(spec)
