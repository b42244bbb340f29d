"""``Map``: one BPF map, owned through its fd, with dict-like typed access.

    with Map(MapType.HASH, key_size=4, value_size=8, max_entries=1024, name="counts") as m:
        m[1] = 10
        print(dict(m.items()))

``Map(MapType.X, ...)``, :meth:`Map.from_fd`, :meth:`Map.from_pin` and
:meth:`Map.from_id` all return the subclass that knows map type X (per-CPU
values, queue push/pop, LPM prefixes...; see :func:`map_class`).  Keys and
values are encoded by codecs (:mod:`purebpf.maps.codec`): ints by default when
the size is 1/2/4/8 bytes, raw bytes otherwise; a map opened by id/pin/fd that
was created with BTF decodes through its own C types (:mod:`purebpf.maps.btf_codec`).

Many entries move in one syscall with ``lookup_batch``/``update_batch``/
``delete_batch``/``lookup_and_delete_batch`` (:mod:`purebpf.maps.batch`, with a
per-key fallback); ``items()`` on hash maps reads in batches (~10x faster than
two syscalls per key on 100k entries).
"""

from __future__ import annotations

import ctypes
import errno as E

from purebpf._lazy import import_module
from purebpf._record import Record
from purebpf.errors import BPFError, InvalidInputError, NotFoundError, NotSupportedError, SyscallError, syscall_error
from purebpf.maps.codec import codec_for
from purebpf.sys import FD, Cmd, MapType, bpf, bpf_raw
from purebpf.sys.attrs import MapCreateAttr, MapElemAttr, MapFdAttr, MapInfo
from purebpf.sys.objects import fd_by_id, obj_fdinfo, obj_get, obj_info, obj_pin

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any

    from purebpf.maps.codec import Codec

ENOTSUPP = 524  # kernel-internal "not supported", returned as is by bpf(2)
NOT_SUPPORTED = (E.EOPNOTSUPP, ENOTSUPP)
MISSING: Any = object()


class KeyExistsError(InvalidInputError, KeyError):
    """An update with ``UpdateFlags.NOEXIST`` found the key already there."""

    def __str__(self) -> str:
        return str(self.args[0])


class MissingKeyError(NotFoundError, KeyError):
    """An operation needed an existing key (``UpdateFlags.EXIST``, lookup_and_delete)."""

    def __str__(self) -> str:
        return str(self.args[0])


class MapSpec(Record):
    """Everything MAP_CREATE needs; the ELF loader and the tracer build these.

    ``inner`` describes the template of a map-of-maps when no ``inner_map_fd``
    is given: a throw-away map is created from it for the outer map's creation.
    (A :class:`~purebpf._record.Record`, not a dataclass: see there why.)
    """

    _fields = ("type", "key_size", "value_size", "max_entries", "name", "flags", "inner_map_fd", "btf_fd",
               "btf_key_type_id", "btf_value_type_id", "map_extra", "ifindex", "inner")

    def __init__(self, type: MapType, key_size: int, value_size: int, max_entries: int, name: str = "",
                 flags: int = 0, inner_map_fd: int = 0, btf_fd: int = 0, btf_key_type_id: int = 0,
                 btf_value_type_id: int = 0, map_extra: int = 0, ifindex: int = 0,
                 inner: MapSpec | None = None) -> None:
        self.type = type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.name = name
        self.flags = flags
        self.inner_map_fd = inner_map_fd
        self.btf_fd = btf_fd
        self.btf_key_type_id = btf_key_type_id
        self.btf_value_type_id = btf_value_type_id
        self.map_extra = map_extra
        self.ifindex = ifindex
        self.inner = inner

    def attr(self) -> MapCreateAttr:
        return MapCreateAttr(
            map_type=self.type, key_size=self.key_size, value_size=self.value_size,
            max_entries=self.max_entries, map_flags=self.flags, inner_map_fd=self.inner_map_fd,
            map_name=_kernel_name(self.name), map_ifindex=self.ifindex, btf_fd=self.btf_fd,
            btf_key_type_id=self.btf_key_type_id, btf_value_type_id=self.btf_value_type_id,
            map_extra=self.map_extra)

    def describe(self) -> str:
        """``hash map 'counts'``: how error messages name the map."""
        kind = f"{self.type.name.lower()} map"
        return f"{kind} '{self.name}'" if self.name else kind


# -- spec validation helpers shared by the subclasses --------------------------------

def require_size(spec: MapSpec, field: str, size: int, why: str) -> None:
    """Fill ``field`` with ``size`` when left 0, refuse any other value."""
    got = getattr(spec, field)
    if got == 0:
        setattr(spec, field, size)
    elif got != size:
        raise InvalidInputError(f"{spec.describe()} needs {field} {size} ({why}), got {got}")


def require_positive(spec: MapSpec, *fields: str) -> None:
    for field in fields:
        if getattr(spec, field) <= 0:
            raise InvalidInputError(f"{spec.describe()} needs {field} > 0, got {getattr(spec, field)}")


# -- subclass registry ----------------------------------------------------------------

# map type -> "module:Class" under purebpf.maps, imported on first use so that
# `import purebpf.maps` stays cheap and the subclasses can import this module.
_KINDS: dict[MapType, str] = {
    MapType.ARRAY: "array:ArrayMap",
    MapType.PERCPU_HASH: "percpu:PerCPUHashMap",
    MapType.LRU_PERCPU_HASH: "percpu:PerCPUHashMap",
    MapType.PERCPU_ARRAY: "percpu:PerCPUArrayMap",
    MapType.RINGBUF: "ringbuf:RingBufMap",
    MapType.USER_RINGBUF: "ringbuf:RingBufMap",
    MapType.PERF_EVENT_ARRAY: "fd_array:PerfEventArray",
    MapType.CGROUP_ARRAY: "fd_array:CgroupArray",
    MapType.PROG_ARRAY: "fd_array:ProgArray",
    MapType.STACK_TRACE: "stack_trace:StackTraceMap",
    MapType.LPM_TRIE: "lpm:LpmTrieMap",
    MapType.QUEUE: "queue:QueueMap",
    MapType.STACK: "queue:StackMap",
    MapType.BLOOM_FILTER: "bloom:BloomFilterMap",
    MapType.SOCKMAP: "sockmap:SockMap",
    MapType.SOCKHASH: "sockmap:SockHash",
    MapType.ARRAY_OF_MAPS: "map_of_maps:ArrayOfMaps",
    MapType.HASH_OF_MAPS: "map_of_maps:HashOfMaps",
}


def map_class(map_type: MapType | int) -> type[Map]:
    """The class that handles ``map_type`` (plain :class:`Map` for hash-like types)."""
    entry = _KINDS.get(MapType(map_type))
    if entry is None:
        return Map
    module, name = entry.split(":")
    return getattr(import_module(f"purebpf.maps.{module}"), name)


def _buffer(data: bytes | None) -> ctypes.Array | None:
    return None if data is None else ctypes.create_string_buffer(data, len(data))


def _addr(buf: ctypes.Array | None) -> int:
    return 0 if buf is None else ctypes.addressof(buf)


def _kernel_name(name: str) -> bytes:
    """The kernel accepts [A-Za-z0-9_.] names of at most 15 bytes."""
    clean = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return clean.encode()[:15]


def _map_type(value: Any) -> MapType:
    try:
        return MapType(value)
    except ValueError:
        raise InvalidInputError(f"unknown map type {value!r}: use a purebpf.sys.MapType member") from None


class Map:
    """A BPF map.  Create one from a :class:`MapSpec` (or keyword arguments), or
    open an existing one with :meth:`from_pin`, :meth:`from_id` or :meth:`from_fd`.

    ``key``/``value`` choose the codecs: a struct format, a ctypes type,
    ``bytes`` or any object with ``size``/``encode``/``decode``.
    """

    spec: MapSpec
    _fd: FD

    def __new__(cls, type_: MapType | MapSpec | None = None, *args: Any, **kwargs: Any) -> Map:
        if cls is Map and type_ is not None:
            cls = map_class(type_.type if isinstance(type_, MapSpec) else _map_type(type_))
        return super().__new__(cls)

    def __init__(self, type_: MapType | MapSpec, key_size: int = 0, value_size: int = 0,
                 max_entries: int = 0, *, name: str = "", flags: int = 0, key: Any = None,
                 value: Any = None, **spec_fields: Any) -> None:
        if isinstance(type_, MapSpec):
            spec = type_.replace(**spec_fields)
        else:
            spec = MapSpec(_map_type(type_), key_size, value_size, max_entries, name=name, flags=flags,
                           **spec_fields)
        self._check_spec(spec)
        self.spec = spec
        self._init_state()
        self._set_codecs(key, value)  # before creating: a bad codec must not cost a map
        self._fd = FD(self._create(spec))

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        """Fill type-specific defaults and refuse impossible sizes before the kernel does
        (its EINVAL would not say which size is wrong)."""
        if spec.type in (MapType.HASH, MapType.LRU_HASH):
            require_positive(spec, "key_size", "value_size", "max_entries")

    def _create(self, spec: MapSpec) -> int:
        return bpf(Cmd.MAP_CREATE, spec.attr(), spec.describe())

    def _init_state(self) -> None:
        self._no_batch: set[Cmd] = set()  # batch commands this map/kernel refused

    @classmethod
    def from_fd(cls, fd: int, *, key: Any = None, value: Any = None, btf: bool = True) -> Map:
        """Wrap an existing map fd; the new object owns (and will close) it.

        With ``btf`` (default), a map created with BTF decodes keys/values
        through its own types (structs as dicts...) unless ``key``/``value``
        say otherwise."""
        owner = FD(fd)
        try:
            info = obj_info(fd, MapInfo())
            klass = map_class(info.type) if cls is Map else cls
            self = klass.__new__(klass)
            self._fd = owner
            self.spec = MapSpec(MapType(info.type), info.key_size, info.value_size, info.max_entries,
                                name=info.name.decode(), flags=info.map_flags, map_extra=info.map_extra)
            self._init_state()
            if btf and info.btf_id:
                key, value = self._btf_codecs(info, key, value)
            self._set_codecs(key, value)
        except BaseException:
            owner.close()
            raise
        return self

    # which sides may take a codec from the map's BTF: not the ones a subclass gives a
    # meaning BTF does not know (fd in / id out, LPM prefixes, stack frames)
    btf_key_codec = True
    btf_value_codec = True

    def _btf_codecs(self, info: MapInfo, key: Any, value: Any) -> tuple[Any, Any]:
        """The map's BTF codecs for the sides the caller left open; silently none when
        the BTF cannot be read (the map still works on plain codecs)."""
        try:
            from purebpf.maps.btf_codec import map_btf_codecs
            codecs = map_btf_codecs(self.fd, info)
        except (BPFError, ImportError, ValueError):
            return key, value
        if codecs is None:
            return key, value
        bkey, bvalue = codecs
        if key is None and self.btf_key_codec and bkey is not None and bkey.size == info.key_size:
            key = bkey
        if value is None and self.btf_value_codec and bvalue is not None and bvalue.size == info.value_size:
            value = bvalue
        return key, value

    @classmethod
    def from_pin(cls, path: str, **kwargs: Any) -> Map:
        return cls.from_fd(obj_get(path), **kwargs)

    @classmethod
    def from_id(cls, map_id: int, **kwargs: Any) -> Map:
        return cls.from_fd(fd_by_id("map", map_id), **kwargs)

    def _set_codecs(self, key: Any, value: Any) -> None:
        self.key_codec: Codec = self._default_key_codec() if key is None else codec_for(key, self.spec.key_size)
        self.value_codec: Codec = (self._default_value_codec() if value is None
                                   else codec_for(value, self.spec.value_size))

    def _default_key_codec(self) -> Codec:
        return codec_for(None, self.spec.key_size)

    def _default_value_codec(self) -> Codec:
        return codec_for(None, self.spec.value_size)

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
    def flags(self) -> int:
        return self.spec.flags

    @property
    def value_bytes(self) -> int:
        """Bytes a lookup returns (per-CPU maps override this)."""
        return self.spec.value_size

    def info(self) -> MapInfo:
        return obj_info(self.fd, MapInfo())

    @property
    def id(self) -> int:
        return self.info().id

    @property
    def frozen(self) -> bool:
        return obj_fdinfo(self.fd).get("frozen") == "1"

    @property
    def memlock(self) -> int:
        """Bytes of memory the kernel charges for this map."""
        return int(obj_fdinfo(self.fd).get("memlock", 0))

    # -- raw byte operations ------------------------------------------------------

    def _what(self) -> str:
        return self.spec.describe()

    def _check_raw(self, data: bytes | None, size: int, role: str) -> None:
        """The kernel copies exactly ``size`` bytes from our buffer: a shorter one
        would make it read past the end, so sizes are checked here."""
        got = 0 if data is None else len(data)
        if got != size:
            raise InvalidInputError(f"{role} is {got} bytes but {self._what()} has {size}-byte {role}s")

    def _elem_attr(self, key: ctypes.Array | None, value: ctypes.Array | None, flags: int = 0) -> MapElemAttr:
        """The attr for an element command; the caller keeps both buffers alive."""
        return MapElemAttr(map_fd=self.fd, key=_addr(key), value=_addr(value), flags=flags)

    def _elem_error(self, cmd: Cmd, err: int, shown: Any, flags: int = 0) -> BPFError:
        """One clear exception for a failed element command on key ``shown``."""
        what, op = self._what(), f"BPF_{cmd.name}"
        if err == E.EEXIST and cmd == Cmd.MAP_UPDATE_ELEM:
            return KeyExistsError(f"key {shown!r} already exists in {what} (updated with flags=NOEXIST)")
        if err == E.ENOENT:
            hint = " (updated with flags=EXIST)" if cmd == Cmd.MAP_UPDATE_ELEM else ""
            return MissingKeyError(f"key {shown!r} is not in {what}{hint}")
        if err == E.E2BIG and cmd == Cmd.MAP_UPDATE_ELEM:
            return SyscallError(f"{what} is full (max_entries {self.max_entries}): delete entries or "
                                "create it with a larger max_entries", err, op)
        if err == E.EPERM and cmd in (Cmd.MAP_UPDATE_ELEM, Cmd.MAP_DELETE_ELEM) and self.frozen:
            return SyscallError(f"{what} is frozen: user space can no longer change it", err, op)
        if err in NOT_SUPPORTED:
            return NotSupportedError(f"{op} is not supported on {self.type.name.lower()} maps")
        return syscall_error(op, err, what)

    def _lookup(self, key: bytes | None, cmd: Cmd = Cmd.MAP_LOOKUP_ELEM, flags: int = 0,
                shown: Any = None) -> bytes | None:
        kbuf, out = _buffer(key), ctypes.create_string_buffer(self.value_bytes)
        ret, err = bpf_raw(cmd, self._elem_attr(kbuf, out, flags))
        if ret < 0:
            if err == E.ENOENT:
                return None
            raise self._elem_error(cmd, err, key.hex() if shown is None and key else shown, flags)
        return out.raw

    def _update(self, key: bytes | None, value: bytes, flags: int, shown: Any) -> None:
        kbuf, vbuf = _buffer(key), _buffer(value)
        ret, err = bpf_raw(Cmd.MAP_UPDATE_ELEM, self._elem_attr(kbuf, vbuf, flags))
        if ret < 0:
            raise self._elem_error(Cmd.MAP_UPDATE_ELEM, err, shown, flags)

    def _delete(self, key: bytes, shown: Any) -> bool:
        kbuf = _buffer(key)
        ret, err = bpf_raw(Cmd.MAP_DELETE_ELEM, self._elem_attr(kbuf, None))
        if ret < 0:
            if err == E.ENOENT:
                return False
            raise self._elem_error(Cmd.MAP_DELETE_ELEM, err, shown)
        return True

    def lookup_raw(self, key: bytes | None, flags: int = 0) -> bytes | None:
        """The value bytes for ``key``, or None when absent."""
        self._check_raw(key, self.key_size, "key")
        return self._lookup(key, flags=flags)

    def update_raw(self, key: bytes | None, value: bytes, flags: int = 0) -> None:
        self._check_raw(key, self.key_size, "key")
        self._check_raw(value, self.value_bytes, "value")
        self._update(key, value, flags, key.hex() if key else None)

    def delete_raw(self, key: bytes) -> bool:
        """Delete ``key``; False when it was not there."""
        self._check_raw(key, self.key_size, "key")
        return self._delete(key, key.hex())

    def lookup_and_delete_raw(self, key: bytes | None, flags: int = 0) -> bytes | None:
        """Atomically read and remove ``key``; None when absent (hash maps: 5.14+)."""
        self._check_raw(key, self.key_size, "key")
        return self._lookup(key, Cmd.MAP_LOOKUP_AND_DELETE_ELEM, flags)

    def keys_raw(self) -> Iterator[bytes]:
        """Every key, in the kernel's order (GET_NEXT_KEY from no key onwards)."""
        cur, nxt = ctypes.create_string_buffer(self.key_size), ctypes.create_string_buffer(self.key_size)
        attr = self._elem_attr(None, nxt)
        while True:
            ret, err = bpf_raw(Cmd.MAP_GET_NEXT_KEY, attr)
            if ret < 0:
                if err == E.ENOENT:
                    return
                raise self._elem_error(Cmd.MAP_GET_NEXT_KEY, err, None)
            key = nxt.raw
            yield key
            ctypes.memmove(cur, key, len(key))
            attr.key = ctypes.addressof(cur)

    def items_raw(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) as bytes: batched when the kernel can, else key by key."""
        if self._batch_items_preferred():
            from purebpf.maps import batch
            for chunk in batch.iter_batches(self):
                yield from chunk
            return
        for k in self.keys_raw():
            raw = self._lookup(k)
            if raw is not None:  # deleted between the two calls
                yield k, raw

    def _batch_items_preferred(self) -> bool:
        """Batch lookup pays off on hash maps (one syscall per bucket run instead of two per key)."""
        return self.type in (MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH)

    # -- typed, dict-like access -------------------------------------------------

    def _key(self, key: Any) -> bytes:
        data = self.key_codec.encode(key)
        if len(data) != self.key_size:
            raise InvalidInputError(f"key is {len(data)} bytes but {self._what()} has {self.key_size}-byte keys")
        return data

    def _value(self, value: Any) -> bytes:
        """Encode a typed value into the bytes an update sends (per-CPU maps: all slots)."""
        data = self.value_codec.encode(value)
        if len(data) != self.value_bytes:
            raise InvalidInputError(
                f"value is {len(data)} bytes but {self._what()} has {self.value_bytes}-byte values")
        return data

    def _decode_value(self, raw: bytes) -> Any:
        return self.value_codec.decode(raw)

    def get(self, key: Any, default: Any = None) -> Any:
        raw = self._lookup(self._key(key), shown=key)
        return default if raw is None else self._decode_value(raw)

    def __getitem__(self, key: Any) -> Any:
        raw = self._lookup(self._key(key), shown=key)
        if raw is None:
            raise KeyError(key)
        return self._decode_value(raw)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def update(self, key: Any, value: Any, flags: int = 0) -> None:
        """Set ``key`` to ``value``.  ``flags``: UpdateFlags.NOEXIST (raise
        KeyExistsError if present), EXIST (raise MissingKeyError if absent)."""
        self._update(self._key(key), self._value(value), flags, key)

    def __delitem__(self, key: Any) -> None:
        if not self._delete(self._key(key), key):
            raise KeyError(key)

    def delete(self, key: Any) -> bool:
        """Delete ``key``; False when it was not there."""
        return self._delete(self._key(key), key)

    def lookup_and_delete(self, key: Any) -> Any:
        """Atomically read and remove ``key``; MissingKeyError when absent."""
        raw = self._lookup(self._key(key), Cmd.MAP_LOOKUP_AND_DELETE_ELEM, shown=key)
        if raw is None:
            raise MissingKeyError(f"key {key!r} is not in {self._what()}")
        return self._decode_value(raw)

    def pop(self, key: Any, default: Any = MISSING) -> Any:
        """dict.pop over :meth:`lookup_and_delete`."""
        raw = self._lookup(self._key(key), Cmd.MAP_LOOKUP_AND_DELETE_ELEM, shown=key)
        if raw is None:
            if default is MISSING:
                raise KeyError(key)
            return default
        return self._decode_value(raw)

    def __contains__(self, key: Any) -> bool:
        return self._lookup(self._key(key), shown=key) is not None

    def keys(self) -> Iterator[Any]:
        decode = self.key_codec.decode
        return (decode(k) for k in self.keys_raw())

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    def items(self) -> Iterator[tuple[Any, Any]]:
        kdec, vdec = self.key_codec.decode, self._decode_value
        for k, v in self.items_raw():
            yield kdec(k), vdec(v)

    def values(self) -> Iterator[Any]:
        return (v for _, v in self.items())

    def __len__(self) -> int:
        return sum(1 for _ in self.keys_raw())

    def clear(self) -> None:
        for k in list(self.keys_raw()):
            self._delete(k, k.hex())

    # -- batches (MAP_*_BATCH, 5.6+; key-by-key fallback) ---------------------------

    def lookup_batch(self, batch_size: int = 0) -> list[tuple[Any, Any]]:
        """Every (key, value), read a batch of ``batch_size`` entries per syscall."""
        return [item for chunk in self.iter_batches(batch_size) for item in chunk]

    def lookup_and_delete_batch(self, batch_size: int = 0) -> list[tuple[Any, Any]]:
        """Read and remove every entry (hash maps), a batch per syscall."""
        return [item for chunk in self.iter_batches(batch_size, delete=True) for item in chunk]

    def iter_batches(self, batch_size: int = 0, *, delete: bool = False) -> Iterator[list[tuple[Any, Any]]]:
        """Decoded entries one kernel batch at a time (bounded memory on huge maps)."""
        from purebpf.maps import batch
        kdec, vdec = self.key_codec.decode, self._decode_value
        for chunk in batch.iter_batches(self, batch_size, delete=delete):
            yield [(kdec(k), vdec(v)) for k, v in chunk]

    def update_batch(self, items: Mapping[Any, Any] | Iterable[tuple[Any, Any]], flags: int = 0) -> int:
        """Set many entries in one syscall; returns how many were written."""
        from collections.abc import Mapping  # here: collections is not on a tool's start-up path

        from purebpf.maps import batch

        pairs = list(items.items() if isinstance(items, Mapping) else items)
        encoded = [(self._key(k), self._value(v)) for k, v in pairs]
        return batch.update(self, encoded, flags, [k for k, _ in pairs])

    def delete_batch(self, keys: Iterable[Any]) -> int:
        """Delete many keys in one syscall (absent keys are skipped); returns how many were deleted."""
        from purebpf.maps import batch
        typed = list(keys)
        return batch.delete(self, [self._key(k) for k in typed], typed)

    # -- lifetime -----------------------------------------------------------------

    def freeze(self) -> None:
        """Make the map read-only for user space from now on (programs may still
        write unless created with RDONLY_PROG).  Irreversible; 5.2+."""
        bpf(Cmd.MAP_FREEZE, MapFdAttr(map_fd=self.fd), f"freeze {self._what()}")

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
        fd = getattr(self, "_fd", None)
        state = "closed" if fd is None or fd.closed else f"fd={fd.raw}"
        return f"<{type(self).__name__} {self.type.name} '{self.name}' {state}>"
