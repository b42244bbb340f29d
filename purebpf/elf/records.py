"""Records of a BTF struct -> :class:`Event`: a dict of its fields that also
reads as attributes (``e.pid``, ``e["comm"]``), ready for ``json.dumps``.

A *flat* struct -- integers, enums, bools, floats, pointers, ``char[N]`` and
arrays of integers, no bitfields, the common shape of event records -- is
decoded by one precompiled ``struct.Struct`` per record and a few per-field
conversions (text for ``char[N]``, names for enums), since decoding is the hot
loop of a busy tracer.  Anything else goes through the general
:class:`~purebpf.maps.btf_codec.BTFCodec` (nested dicts and lists).  Both give
the same values -- ``char`` arrays as text up to the NUL (when printable: the
codec shows other bytes as a list), enums by name (the number when it has
none), bools as bool.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from purebpf.btf import BTF
from purebpf.btf import types as T
from purebpf.elf.ctype import c_type_name
from purebpf.maps.btf_codec import BTFCodec

_INT_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
              (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_CHAR_NAMES = ("char", "signed char", "unsigned char")


class Event(dict):
    """One decoded record: a dict whose keys are also attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Field:
    """A top-level member of the record, as the table printer needs it."""
    name: str
    c_type: str
    kind: str       # "int", "enum", "bool", "float", "str", "list", "other"
    size: int
    width: int      # natural column width


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


class RecordDecoder:
    """Decode records of BTF type ``type_id``; ``fields`` describe its top level."""

    def __init__(self, btf: BTF, type_id: int) -> None:
        self.btf, self.type_id = btf, type_id
        t = btf.resolve(type_id)
        self.name = c_type_name(btf, type_id)
        self.size = btf.sizeof(type_id)
        self.fields = _fields(btf, t) if isinstance(t, T.Composite) else []
        plan = _flat_plan(btf, t) if isinstance(t, T.Struct) else None
        if plan is not None:
            fmt, self._names, self._convert = plan
            self._struct: struct.Struct | None = struct.Struct(fmt)
        else:
            self._struct = None
            self._codec = BTFCodec(btf, type_id)

    @property
    def flat(self) -> bool:
        return self._struct is not None

    def decode(self, data: bytes) -> Event | Any:
        """One record (a perf sample may carry padding after it; a short one is zero-filled)."""
        if len(data) < self.size:
            data = bytes(data).ljust(self.size, b"\0")
        if self._struct is None:
            value = self._codec.decode(data[:self.size])
            return Event(value) if isinstance(value, dict) else value
        event = Event(zip(self._names, self._struct.unpack_from(data), strict=True))
        for name, convert in self._convert:
            event[name] = convert(event[name])
        return event


def _flat_plan(btf: BTF, t: T.Struct) -> tuple[str, list[str], list[tuple[str, Callable]]] | None:
    """(struct format, member names, conversions) when every member is flat; else None."""
    fmt, names, convert = ["<"], [], []
    pos = 0
    for m in t.members:
        if m.bitfield_size or m.bit_offset % 8 or not m.name:
            return None
        off = m.bit_offset // 8
        if off < pos:
            return None  # overlapping (a union-like layout)
        fmt.append(f"{off - pos}x" if off > pos else "")
        code, conv = _member_code(btf, m.type)
        if code is None:
            return None
        fmt.append(code)
        names.append(m.name)
        if conv is not None:
            convert.append((m.name, conv))
        pos = off + btf.sizeof(m.type)
    size = btf.sizeof(t.id)
    if size > pos:
        fmt.append(f"{size - pos}x")
    fmt_str = "".join(fmt)
    if struct.calcsize(fmt_str) != size:
        return None
    return fmt_str, names, convert


def _member_code(btf: BTF, type_id: int) -> tuple[str | None, Callable | None]:
    t = btf.resolve(type_id)
    if isinstance(t, T.Int):
        if t.bits != t.size * 8 or t.bit_offset:
            return None, None
        if t.is_bool:
            return "?", None
        return _INT_CODES.get((t.size, t.signed)), None
    if isinstance(t, T.Enum):
        names = {v.value: v.name for v in t.values}
        return _INT_CODES.get((t.size, t.signed)), lambda v: names.get(v, v)
    if isinstance(t, T.Pointer):
        return "Q", None
    if isinstance(t, T.Float) and t.size in (4, 8):
        return ("f" if t.size == 4 else "d"), None
    if isinstance(t, T.Array):
        elem = btf.resolve(t.type)
        n = t.nelems
        if isinstance(elem, T.Int) and elem.size == 1 and (elem.is_char or elem.name in _CHAR_NAMES):
            return f"{n}s", _text
        if isinstance(elem, T.Int) and not elem.is_bool and (elem.size, elem.signed) in _INT_CODES:
            elem_fmt = struct.Struct("<" + _INT_CODES[(elem.size, elem.signed)] * n)
            return f"{n * elem.size}s", lambda raw: list(elem_fmt.unpack(raw))
    return None, None


def _fields(btf: BTF, t: T.Composite) -> list[Field]:
    out = []
    for m in t.members:
        mt = btf.resolve(m.type)
        if not m.name and isinstance(mt, T.Composite):
            out.extend(_fields(btf, mt))  # anonymous members' fields belong to the parent
            continue
        size = btf.sizeof(m.type) if not m.bitfield_size else (m.bitfield_size + 7) // 8
        kind, width = _kind_width(btf, mt, size)
        out.append(Field(m.name, c_type_name(btf, m.type), kind, size, max(width, len(m.name))))
    return out


# a column wide enough for typical values (pids, counts, comms), not for the largest
_INT_WIDTHS = {1: 3, 2: 5, 4: 7, 8: 12}


def _kind_width(btf: BTF, t: T.Type, size: int) -> tuple[str, int]:
    if isinstance(t, T.Int):
        if t.is_bool:
            return "bool", 5
        return "int", _INT_WIDTHS.get(size, 12)
    if isinstance(t, T.Enum):
        return "enum", max((len(v.name) for v in t.values), default=6)
    if isinstance(t, T.Float):
        return "float", 10
    if isinstance(t, T.Pointer):
        return "int", 18
    if isinstance(t, T.Array):
        elem = btf.resolve(t.type)
        if isinstance(elem, T.Int) and elem.size == 1 and (elem.is_char or elem.name in _CHAR_NAMES):
            return "str", min(max(t.nelems - 1, 1), 32)
        return "list", 16
    return "other", 16
