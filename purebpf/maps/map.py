"""``Map``: one BPF map, owned through its fd, with dict-like typed access.

    with Map(MapType.HASH, key_size=4, value_size=8, max_entries=1024, name="counts") as m:
        m[1] = 10
        print(dict(m.items()))

Keys and values are encoded by codecs (:mod:`purebpf.maps.codec`): ints by
default when the size is 1/2/4/8 bytes, raw bytes otherwise.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from purebpf.errors import InvalidInputError
from purebpf.maps.codec import Codec, codec_for
from purebpf.sys import FD, Cmd, MapType, bpf, bpf_raw
from purebpf.sys.attrs import MapCreateAttr, MapElemAttr, MapInfo
from purebpf.sys.objects import fd_by_id, obj_get, obj_info, obj_pin

ENOENT = 2


@dataclass
class MapSpec:
    """Everything MAP_CREATE needs; the ELF loader and the tracer build these."""
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    name: str = ""
    flags: int = 0
    inner_map_fd: int = 0
    btf_fd: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    map_extra: int = 0
    ifindex: int = 0

    def attr(self) -> MapCreateAttr:
        return MapCreateAttr(
            map_type=self.type, key_size=self.key_size, value_size=self.value_size,
            max_entries=self.max_entries, map_flags=self.flags, inner_map_fd=self.inner_map_fd,
            map_name=_kernel_name(self.name), map_ifindex=self.ifindex, btf_fd=self.btf_fd,
            btf_key_type_id=self.btf_key_type_id, btf_value_type_id=self.btf_value_type_id,
            map_extra=self.map_extra)


def _buffer(data: bytes | None) -> ctypes.Array | None:
    return None if data is None else ctypes.create_string_buffer(data, len(data))


def _addr(buf: ctypes.Array | None) -> int:
    return 0 if buf is None else ctypes.addressof(buf)


def _kernel_name(name: str) -> bytes:
    """The kernel accepts [A-Za-z0-9_.] names of at most 15 bytes."""
    clean = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return clean.encode()[:15]


class Map:
    """A BPF map.  Create one from a :class:`MapSpec` (or keyword arguments), or
    open an existing one with :meth:`from_pin`, :meth:`from_id` or :meth:`from_fd`."""

    def __init__(self, type_: MapType | MapSpec, key_size: int = 0, value_size: int = 0,
                 max_entries: int = 0, *, name: str = "", flags: int = 0, key: Any = None,
                 value: Any = None, **spec_fields: Any) -> None:
        spec = type_ if isinstance(type_, MapSpec) else MapSpec(
            MapType(type_), key_size, value_size, max_entries, name=name, flags=flags, **spec_fields)
        self.spec = spec
        kind = f"{spec.type.name.lower()} map '{spec.name}'" if spec.name else f"{spec.type.name.lower()} map"
        self._fd = FD(bpf(Cmd.MAP_CREATE, spec.attr(), kind))
        self._set_codecs(key, value)

    @classmethod
    def from_fd(cls, fd: int, *, key: Any = None, value: Any = None) -> Map:
        """Wrap an existing map fd; the new object owns (and will close) it."""
        self = cls.__new__(cls)
        self._fd = FD(fd)
        try:
            info = obj_info(fd, MapInfo())
        except BaseException:
            self._fd.close()
            raise
        self.spec = MapSpec(MapType(info.type), info.key_size, info.value_size, info.max_entries,
                            name=info.name.decode(), flags=info.map_flags, map_extra=info.map_extra)
        self._set_codecs(key, value)
        return self

    @classmethod
    def from_pin(cls, path: str, **codecs: Any) -> Map:
        return cls.from_fd(obj_get(path), **codecs)

    @classmethod
    def from_id(cls, map_id: int, **codecs: Any) -> Map:
        return cls.from_fd(fd_by_id("map", map_id), **codecs)

    def _set_codecs(self, key: Any, value: Any) -> None:
        self.key_codec: Codec = codec_for(key, self.spec.key_size)
        self.value_codec: Codec = codec_for(value, self.value_bytes)

    # -- properties ---------------------------------------------------------------

    @property
    def fd(self) -> int:
        return self._fd.raw

    @property
    def type(self) -> MapType:
        return self.spec.type

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key_size(self) -> int:
        return self.spec.key_size

    @property
    def value_size(self) -> int:
        return self.spec.value_size

    @property
    def max_entries(self) -> int:
        return self.spec.max_entries

    @property
    def value_bytes(self) -> int:
        """Bytes a lookup returns (per-CPU maps override this)."""
        return self.spec.value_size

    def info(self) -> MapInfo:
        return obj_info(self.fd, MapInfo())

    @property
    def id(self) -> int:
        return self.info().id

    # -- raw byte operations ------------------------------------------------------

    def _elem_attr(self, key: ctypes.Array | None, value: ctypes.Array | None, flags: int = 0) -> MapElemAttr:
        """The attr for an element command; the caller keeps both buffers alive."""
        return MapElemAttr(map_fd=self.fd, key=_addr(key), value=_addr(value), flags=flags)

    def lookup_raw(self, key: bytes | None, flags: int = 0) -> bytes | None:
        """The value bytes for ``key``, or None when absent."""
        kbuf, out = _buffer(key), ctypes.create_string_buffer(self.value_bytes)
        attr = self._elem_attr(kbuf, out, flags)
        ret, err = bpf_raw(Cmd.MAP_LOOKUP_ELEM, attr)
        if ret < 0:
            if err == ENOENT:
                return None
            bpf(Cmd.MAP_LOOKUP_ELEM, attr, self._what())
        return out.raw

    def update_raw(self, key: bytes | None, value: bytes, flags: int = 0) -> None:
        kbuf, vbuf = _buffer(key), _buffer(value)
        bpf(Cmd.MAP_UPDATE_ELEM, self._elem_attr(kbuf, vbuf, flags), self._what())

    def delete_raw(self, key: bytes) -> bool:
        """Delete ``key``; False when it was not there."""
        kbuf = _buffer(key)
        attr = self._elem_attr(kbuf, None)
        ret, err = bpf_raw(Cmd.MAP_DELETE_ELEM, attr)
        if ret < 0:
            if err == ENOENT:
                return False
            bpf(Cmd.MAP_DELETE_ELEM, attr, self._what())
        return True

    def keys_raw(self) -> Iterator[bytes]:
        """Every key, in the kernel's order (GET_NEXT_KEY from no key onwards)."""
        cur, nxt = ctypes.create_string_buffer(self.key_size), ctypes.create_string_buffer(self.key_size)
        attr = self._elem_attr(None, nxt)
        while True:
            ret, err = bpf_raw(Cmd.MAP_GET_NEXT_KEY, attr)
            if ret < 0:
                if err == ENOENT:
                    return
                bpf(Cmd.MAP_GET_NEXT_KEY, attr, self._what())
            key = nxt.raw
            yield key
            ctypes.memmove(cur, key, len(key))
            attr.key = ctypes.addressof(cur)

    def _what(self) -> str:
        return f"map '{self.name}'" if self.name else f"{self.type.name.lower()} map"

    # -- typed, dict-like access -------------------------------------------------

    def _key(self, key: Any) -> bytes:
        data = self.key_codec.encode(key)
        if len(data) != self.key_size:
            raise InvalidInputError(f"key is {len(data)} bytes but {self._what()} has {self.key_size}-byte keys")
        return data

    def get(self, key: Any, default: Any = None) -> Any:
        raw = self.lookup_raw(self._key(key))
        return default if raw is None else self.value_codec.decode(raw)

    def __getitem__(self, key: Any) -> Any:
        raw = self.lookup_raw(self._key(key))
        if raw is None:
            raise KeyError(key)
        return self.value_codec.decode(raw)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def update(self, key: Any, value: Any, flags: int = 0) -> None:
        data = self.value_codec.encode(value)
        if len(data) != self.value_bytes:
            raise InvalidInputError(
                f"value is {len(data)} bytes but {self._what()} has {self.value_bytes}-byte values")
        self.update_raw(self._key(key), data, flags)

    def __delitem__(self, key: Any) -> None:
        if not self.delete_raw(self._key(key)):
            raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return self.lookup_raw(self._key(key)) is not None

    def keys(self) -> Iterator[Any]:
        decode = self.key_codec.decode
        return (decode(k) for k in self.keys_raw())

    __iter__ = keys

    def items(self) -> Iterator[tuple[Any, Any]]:
        kdec, vdec = self.key_codec.decode, self.value_codec.decode
        for k in self.keys_raw():
            raw = self.lookup_raw(k)
            if raw is not None:  # deleted between the two calls
                yield kdec(k), vdec(raw)

    def values(self) -> Iterator[Any]:
        return (v for _, v in self.items())

    def __len__(self) -> int:
        return sum(1 for _ in self.keys_raw())

    def clear(self) -> None:
        for k in list(self.keys_raw()):
            self.delete_raw(k)

    # -- lifetime -----------------------------------------------------------------

    def pin(self, path: str) -> None:
        obj_pin(self.fd, path)

    def close(self) -> None:
        self._fd.close()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd.raw}"
        return f"<Map {self.type.name} '{self.name}' {state}>"

