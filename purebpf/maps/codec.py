"""Codecs turn Python values into map keys/values and back.

A map stores bytes; a codec gives them a type.  Plain ints, ``struct`` formats,
ctypes structures and raw bytes cover what users pass; BTF-described types get
a codec from :mod:`purebpf.maps.btf_codec`.
"""

from __future__ import annotations

import ctypes
import struct

from purebpf.errors import InvalidInputError

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object  # at run time Codec is a plain base; nothing checks isinstance against it


class Codec(Protocol):
    size: int

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class BytesCodec:
    """Raw bytes of exactly ``size`` bytes (shorter input is zero-padded)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def encode(self, value: Any) -> bytes:
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise InvalidInputError(f"expected bytes of size {self.size}, got {type(value).__name__}")
        data = bytes(value)
        if len(data) > self.size:
            raise InvalidInputError(f"value of {len(data)} bytes does not fit a {self.size}-byte field")
        return data.ljust(self.size, b"\0")

    def decode(self, data: bytes) -> bytes:
        return bytes(data)


class IntCodec:
    """A little-endian integer of 1, 2, 4 or 8 bytes."""

    def __init__(self, size: int, signed: bool = False) -> None:
        if size not in (1, 2, 4, 8):
            raise InvalidInputError(f"integer keys/values are 1, 2, 4 or 8 bytes, not {size}")
        self.size = size
        self.signed = signed

    def encode(self, value: Any) -> bytes:
        try:
            return int(value).to_bytes(self.size, "little", signed=self.signed)
        except OverflowError:
            raise InvalidInputError(f"{value} does not fit in {self.size * 8} bits") from None
        except (TypeError, ValueError):
            raise InvalidInputError(f"expected an integer, got {value!r}") from None

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data, "little", signed=self.signed)


class StructCodec:
    """A ``struct`` module format (``"<IQ"``): values are tuples (or one item)."""

    def __init__(self, fmt: str) -> None:
        self._st = struct.Struct(fmt)
        self.size = self._st.size
        self._single = len(self._st.unpack(bytes(self.size))) == 1

    def encode(self, value: Any) -> bytes:
        try:
            return self._st.pack(value) if self._single else self._st.pack(*value)
        except (struct.error, TypeError) as exc:
            raise InvalidInputError(f"cannot pack {value!r} as '{self._st.format}': {exc}") from None

    def decode(self, data: bytes) -> Any:
        out = self._st.unpack(data)
        return out[0] if self._single else out


class CtypesCodec:
    """A ctypes structure/array type: values are instances of it."""

    def __init__(self, ctype: type) -> None:
        self.ctype = ctype
        self.size = ctypes.sizeof(ctype)

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, self.ctype):
            raise InvalidInputError(f"expected {self.ctype.__name__}, got {type(value).__name__}")
        return bytes(value)

    def decode(self, data: bytes) -> Any:
        return self.ctype.from_buffer_copy(data)


def fd_of(obj: Any) -> int:
    """The fd number behind ``obj``: an int, a purebpf object (``.fd``) or a
    Python socket/file (``fileno()``)."""
    if isinstance(obj, int):
        return obj
    fd = getattr(obj, "fd", None)
    if isinstance(fd, int):
        return fd
    fileno = getattr(obj, "fileno", None)
    if callable(fileno):
        return fileno()
    raise InvalidInputError(f"expected a file descriptor, a Map/Program or a socket, got {type(obj).__name__}")


class FdCodec:
    """Values of fd-holding maps (prog arrays, maps of maps, sockmaps...).

    Updates take an fd (or an object owning one); lookups return what the
    kernel reports instead of the fd: a program/map id, or a socket cookie.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def encode(self, value: Any) -> bytes:
        fd = fd_of(value)
        if fd < 0:
            raise InvalidInputError(f"invalid file descriptor {fd}")
        return fd.to_bytes(self.size, "little")

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data, "little")


def codec_for(spec: Any, size: int) -> Codec:
    """Pick a codec from what the user passed: None (auto), a codec, a struct
    format string, a ctypes type, or ``bytes``."""
    if spec is None:
        return IntCodec(size) if size in (1, 2, 4, 8) else BytesCodec(size)
    if spec is bytes:
        return BytesCodec(size)
    if isinstance(spec, str):
        codec: Codec = StructCodec(spec)
    elif isinstance(spec, type) and issubclass(spec, (ctypes.Structure, ctypes.Union, ctypes.Array)):
        codec = CtypesCodec(spec)
    elif hasattr(spec, "encode") and hasattr(spec, "decode") and hasattr(spec, "size"):
        codec = spec
    else:
        raise InvalidInputError(f"cannot use {spec!r} as a key/value type: give a struct format, "
                                "a ctypes type, bytes or a codec")
    if codec.size != size:
        raise InvalidInputError(f"type {spec!r} is {codec.size} bytes but the map's field is {size} bytes")
    return codec
