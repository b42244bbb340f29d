"""Codecs built from BTF: map keys and values as readable Python values.

A map created with BTF (every map of a clang-built object, and the tracer's)
tells the kernel the C type of its keys and values.  :class:`BTFCodec` turns
those bytes into what the C type means: structs and unions become dicts keyed
by field name (anonymous members merged in, as C does), arrays become lists,
``char`` arrays become str, enums their enumerator name, bools bool::

    struct event { u32 pid; char comm[16]; struct { u16 a, b; } pair; }
    -> {"pid": 42, "comm": "bash", "pair": {"a": 1, "b": 2}}

It encodes the same shapes back (missing struct fields are zero).  The
decoder is compiled once per type into nested closures, so decoding a value is
a few Python calls, not a walk over the type graph.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any

from purebpf.btf import BTF
from purebpf.btf import types as T
from purebpf.errors import InvalidInputError
from purebpf.maps.codec import Codec
from purebpf.sys import FD
from purebpf.sys.attrs import BtfInfo, MapInfo
from purebpf.sys.objects import fd_by_id, obj_info

Decoder = Callable[[bytes, int], Any]          # (data, byte offset) -> value
Encoder = Callable[[bytearray, int, Any], None]  # (buffer, byte offset, value)
CHAR_NAMES = ("char", "signed char", "unsigned char")


def _is_char(t: T.Type) -> bool:
    return isinstance(t, T.Int) and t.size == 1 and (t.is_char or t.name in CHAR_NAMES)


def _c_string(raw: bytes) -> str | None:
    """The NUL-terminated text in ``raw`` when it is printable, else None (then shown as numbers)."""
    text = raw.split(b"\0", 1)[0]
    try:
        s = text.decode()
    except UnicodeDecodeError:
        return None
    return s if s.isprintable() else None


class _Compiler:
    def __init__(self, btf: BTF) -> None:
        self.btf = btf
        self.dec_memo: dict[int, Decoder] = {}
        self.enc_memo: dict[int, Encoder] = {}

    # -- decoding -------------------------------------------------------------------

    def decoder(self, type_id: int) -> Decoder:
        got = self.dec_memo.get(type_id)
        if got is None:
            got = self.dec_memo[type_id] = self._decoder(self.btf.resolve(type_id))
        return got

    def _decoder(self, t: T.Type) -> Decoder:
        if isinstance(t, T.Int):
            return _int_decoder(t)
        if isinstance(t, T.Enum):
            names = {v.value: v.name for v in t.values}
            size, signed = t.size, t.signed

            def enum(data: bytes, off: int) -> Any:
                raw = int.from_bytes(data[off:off + size], "little", signed=signed)
                return names.get(raw, raw)
            return enum
        if isinstance(t, T.Pointer):
            size = self.btf.pointer_size
            return lambda data, off: int.from_bytes(data[off:off + size], "little")
        if isinstance(t, T.Float):
            fmt = {2: "<e", 4: "<f", 8: "<d"}.get(t.size)
            if fmt is None:  # long double: leave as bytes
                return lambda data, off, n=t.size: bytes(data[off:off + n])
            return lambda data, off: struct.unpack_from(fmt, data, off)[0]
        if isinstance(t, T.Array):
            return self._array_decoder(t)
        if isinstance(t, T.Composite):
            return self._composite_decoder(t)
        size = self.btf.sizeof(t.id) if not isinstance(t, (T.Void, T.Fwd, T.FuncProto)) else 0
        return lambda data, off: bytes(data[off:off + size])

    def _array_decoder(self, t: T.Array) -> Decoder:
        elem_t = self.btf.resolve(t.type)
        n = t.nelems
        if _is_char(elem_t):
            def chars(data: bytes, off: int) -> Any:
                raw = bytes(data[off:off + n])
                text = _c_string(raw)
                return text if text is not None else list(raw)
            return chars
        elem, stride = self.decoder(t.type), self.btf.sizeof(t.type)
        return lambda data, off: [elem(data, off + i * stride) for i in range(n)]

    def _fields(self, t: T.Composite) -> list[tuple[str | None, int, T.Member]]:
        """(name or None for anonymous members, byte offset, member) in order."""
        return [(m.name or None, m.bit_offset // 8, m) for m in t.members]

    def _composite_decoder(self, t: T.Composite) -> Decoder:
        parts: list[tuple[str | None, Decoder]] = []
        for name, _, m in self._fields(t):
            if m.bitfield_size:
                parts.append((name, _bitfield_decoder(self.btf.resolve(m.type), m.bit_offset, m.bitfield_size)))
            else:
                parts.append((name, _shifted(self.decoder(m.type), m.bit_offset // 8)))

        def composite(data: bytes, off: int) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, dec in parts:
                value = dec(data, off)
                if name is None:  # anonymous struct/union: its fields belong to the parent
                    if isinstance(value, dict):
                        out.update(value)
                else:
                    out[name] = value
            return out
        return composite

    # -- encoding -------------------------------------------------------------------

    def encoder(self, type_id: int) -> Encoder:
        got = self.enc_memo.get(type_id)
        if got is None:
            got = self.enc_memo[type_id] = self._encoder(self.btf.resolve(type_id))
        return got

    def _encoder(self, t: T.Type) -> Encoder:
        if isinstance(t, T.Int):
            return _int_encoder(t.size, t.signed, t.name)
        if isinstance(t, T.Enum):
            by_name = {v.name: v.value for v in t.values}
            inner = _int_encoder(t.size, t.signed, t.name)

            def enum(buf: bytearray, off: int, value: Any) -> None:
                if isinstance(value, str):
                    if value not in by_name:
                        raise InvalidInputError(f"enum {t.name or '(anon)'} has no value {value!r}: "
                                                f"use one of {', '.join(by_name)}")
                    value = by_name[value]
                inner(buf, off, value)
            return enum
        if isinstance(t, T.Pointer):
            return _int_encoder(self.btf.pointer_size, False, "pointer")
        if isinstance(t, T.Float) and t.size in (4, 8):
            fmt = "<f" if t.size == 4 else "<d"
            return lambda buf, off, value: struct.pack_into(fmt, buf, off, float(value))
        if isinstance(t, T.Array):
            return self._array_encoder(t)
        if isinstance(t, T.Composite):
            return self._composite_encoder(t)
        size = self.btf.sizeof(t.id) if not isinstance(t, (T.Void, T.Fwd, T.FuncProto)) else 0
        return _bytes_encoder(size, t.name or t.kind.name.lower())

    def _array_encoder(self, t: T.Array) -> Encoder:
        elem_t, n = self.btf.resolve(t.type), t.nelems
        if _is_char(elem_t):
            raw_enc = _bytes_encoder(n, "char array")

            def chars(buf: bytearray, off: int, value: Any) -> None:
                if isinstance(value, str):
                    value = value.encode()
                if isinstance(value, (bytes, bytearray)) and len(value) >= n:
                    raise InvalidInputError(f"string of {len(value)} bytes does not fit char[{n}] with its NUL")
                raw_enc(buf, off, bytes(value) if isinstance(value, (bytes, bytearray)) else bytes(value))
            return chars
        elem, stride = self.encoder(t.type), self.btf.sizeof(t.type)

        def array(buf: bytearray, off: int, value: Any) -> None:
            items = list(value)
            if len(items) > n:
                raise InvalidInputError(f"{len(items)} items do not fit an array of {n}")
            for i, item in enumerate(items):
                elem(buf, off + i * stride, item)
        return array

    def _composite_encoder(self, t: T.Composite) -> Encoder:
        # (name, byte offset, member, encoder or None for bitfields, field names of an anonymous member)
        parts: list[tuple[str | None, int, T.Member, Encoder | None, set[str]]] = []
        for name, offset, m in self._fields(t):
            enc = None if m.bitfield_size else self.encoder(m.type)
            inner = self.btf.resolve(m.type)
            owned = self._field_names(inner) if name is None and isinstance(inner, T.Composite) else set()
            parts.append((name, offset, m, enc, owned))
        known = self._field_names(t)
        label = f"{'union' if isinstance(t, T.Union) else 'struct'} {t.name or '(anon)'}"

        def composite(buf: bytearray, off: int, value: Any) -> None:
            if not isinstance(value, dict):
                raise InvalidInputError(f"{label} takes a dict of its fields, got {type(value).__name__}")
            unknown = set(value) - known
            if unknown:
                raise InvalidInputError(f"{label} has no field {sorted(unknown)[0]!r} "
                                        f"(fields: {', '.join(sorted(known))})")
            for name, offset, m, enc, owned in parts:
                if name is None:  # anonymous member: its fields sit in this dict
                    mine = {k: v for k, v in value.items() if k in owned}
                    if mine and enc is not None:
                        enc(buf, off + offset, mine)
                elif name in value:
                    if enc is None:
                        _bitfield_store(buf, off, m.bit_offset, m.bitfield_size, int(value[name]))
                    else:
                        enc(buf, off + offset, value[name])
        return composite

    def _field_names(self, t: T.Composite) -> set[str]:
        """Names usable in t's dict: its named members and those of its anonymous members."""
        names: set[str] = set()
        for m in t.members:
            if m.name:
                names.add(m.name)
            else:
                inner = self.btf.resolve(m.type)
                if isinstance(inner, T.Composite):
                    names |= self._field_names(inner)
        return names



def _shifted(dec: Decoder, delta: int) -> Decoder:
    return dec if delta == 0 else (lambda data, off: dec(data, off + delta))


def _int_decoder(t: T.Int) -> Decoder:
    size, signed = t.size, t.signed
    if t.bits and t.bits != size * 8 or t.bit_offset:  # old-style bitfield encoded in the INT
        return _bitfield_decoder(t, t.bit_offset, t.bits)
    if t.is_bool:
        return lambda data, off: data[off] != 0
    return lambda data, off: int.from_bytes(data[off:off + size], "little", signed=signed)


def _bitfield_decoder(t: T.Type, bit_offset: int, bits: int) -> Decoder:
    signed = isinstance(t, (T.Int, T.Enum)) and t.signed
    first, shift = bit_offset // 8, bit_offset % 8
    nbytes = (shift + bits + 7) // 8
    mask = (1 << bits) - 1

    def bitfield(data: bytes, off: int) -> int:
        raw = (int.from_bytes(data[off + first:off + first + nbytes], "little") >> shift) & mask
        return raw - (1 << bits) if signed and raw >> (bits - 1) else raw
    return bitfield


def _bitfield_store(buf: bytearray, off: int, bit_offset: int, bits: int, value: int) -> None:
    first, shift = off + bit_offset // 8, bit_offset % 8
    nbytes = (shift + bits + 7) // 8
    mask = ((1 << bits) - 1) << shift
    word = int.from_bytes(buf[first:first + nbytes], "little")
    word = (word & ~mask) | ((value << shift) & mask)
    buf[first:first + nbytes] = word.to_bytes(nbytes, "little")


def _int_encoder(size: int, signed: bool, name: str) -> Encoder:
    def integer(buf: bytearray, off: int, value: Any) -> None:
        try:
            buf[off:off + size] = int(value).to_bytes(size, "little", signed=signed)
        except OverflowError:
            raise InvalidInputError(f"{value} does not fit {name} ({size * 8} bits)") from None
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name} takes an integer, got {value!r}") from None
    return integer


def _bytes_encoder(size: int, name: str) -> Encoder:
    def raw(buf: bytearray, off: int, value: Any) -> None:
        data = bytes(value)
        if len(data) > size:
            raise InvalidInputError(f"{len(data)} bytes do not fit {name} ({size} bytes)")
        buf[off:off + len(data)] = data
    return raw


class BTFCodec:
    """Encode/decode one BTF type (by id) of ``btf``."""

    def __init__(self, btf: BTF, type_id: int, compiler: _Compiler | None = None) -> None:
        self.btf, self.type_id = btf, type_id
        self.size = btf.sizeof(type_id)
        self._compiler = compiler or _Compiler(btf)
        self._decode = self._compiler.decoder(type_id)
        self._encode: Encoder | None = None

    def decode(self, data: bytes) -> Any:
        return self._decode(data, 0)

    def encode(self, value: Any) -> bytes:
        if self._encode is None:
            self._encode = self._compiler.encoder(self.type_id)
        buf = bytearray(self.size)
        self._encode(buf, 0, value)
        return bytes(buf)

    def __repr__(self) -> str:
        return f"<BTFCodec type {self.type_id} ({self.size} bytes)>"


# -- a map's own BTF ------------------------------------------------------------------

def btf_bytes(btf_id: int) -> tuple[bytes, bool, str]:
    """The raw BTF of kernel BTF object ``btf_id``, whether it is kernel BTF, and its name."""
    fd = FD(fd_by_id("btf", btf_id))
    try:
        first = obj_info(fd.raw, BtfInfo())
        data, name = ctypes.create_string_buffer(first.btf_size), ctypes.create_string_buffer(64)
        info = obj_info(fd.raw, BtfInfo(btf=ctypes.addressof(data), btf_size=first.btf_size,
                                        name=ctypes.addressof(name), name_len=64))
        return data.raw[:info.btf_size], bool(info.kernel_btf), name.value.decode(errors="replace")
    finally:
        fd.close()


def load_btf_by_id(btf_id: int) -> BTF:
    """The BTF object ``btf_id`` (a module's is read on top of vmlinux)."""
    data, kernel, name = btf_bytes(btf_id)
    base = None
    if kernel and name != "vmlinux":
        from purebpf.btf import load_kernel
        base = load_kernel()
    return BTF.from_bytes(data, base=base, name=name or f"btf id {btf_id}")


def map_btf_codecs(map_fd: int, info: MapInfo | None = None) -> tuple[Codec | None, Codec | None] | None:
    """(key codec, value codec) from the map's BTF; None when it has none.  A side
    without a BTF type id (e.g. keyless maps) gets None."""
    info = info if info is not None else obj_info(map_fd, MapInfo())
    if not info.btf_id or not (info.btf_key_type_id or info.btf_value_type_id):
        return None
    btf = load_btf_by_id(info.btf_id)
    compiler = _Compiler(btf)
    key = BTFCodec(btf, info.btf_key_type_id, compiler) if info.btf_key_type_id else None
    value = BTFCodec(btf, info.btf_value_type_id, compiler) if info.btf_value_type_id else None
    return key, value


__all__ = ["BTFCodec", "load_btf_by_id", "map_btf_codecs"]
