"""Python values of C global variables, by their BTF type.

Integers, enums, bools and pointers become ``int``/``bool``; ``char[N]`` a
``str``; floats ``float``; arrays of those a ``list``; anything else stays
``bytes``.  Used for ``rodata={...}`` before load and ``obj.globals`` after.
"""

from __future__ import annotations

import struct
from typing import Any

from purebpf.btf.kinds import Kind
from purebpf.btf.spec import BTF
from purebpf.errors import InvalidInputError

_INT_FMT = {1: "b", 2: "h", 4: "i", 8: "q"}


def decode_value(btf: BTF | None, type_id: int, raw: bytes) -> Any:
    if btf is None or not type_id:
        return _plain_int(raw)
    t = btf.resolve(type_id)
    if t.kind in (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.PTR) and len(raw) in _INT_FMT:
        signed = getattr(t, "signed", False)
        value = int.from_bytes(raw, "little", signed=signed)
        return bool(value) if t.kind == Kind.INT and t.is_bool else value
    if t.kind == Kind.FLOAT and len(raw) in (4, 8):
        return struct.unpack("<f" if len(raw) == 4 else "<d", raw)[0]
    if t.kind == Kind.ARRAY:
        elem = btf.resolve(t.type)
        if elem.kind == Kind.INT and elem.size == 1 and (elem.is_char or elem.name == "char"):  # clang: SIGNED only
            return raw.split(b"\0", 1)[0].decode(errors="replace")
        size = btf.sizeof(t.type)
        if size and elem.kind in (Kind.INT, Kind.ENUM, Kind.PTR, Kind.FLOAT):
            return [decode_value(btf, t.type, raw[i:i + size]) for i in range(0, len(raw), size)]
    return raw


def _plain_int(raw: bytes) -> Any:
    return int.from_bytes(raw, "little") if len(raw) in _INT_FMT else raw


def encode_value(btf: BTF | None, type_id: int, size: int, value: Any, name: str) -> bytes:
    """``value`` as the bytes of variable ``name`` (``size`` bytes)."""
    if isinstance(value, bytes | bytearray):
        if len(value) > size:
            raise InvalidInputError(f"value for '{name}' is {len(value)} bytes; the variable has {size}")
        return bytes(value).ljust(size, b"\0")
    t = btf.resolve(type_id) if btf is not None and type_id else None
    if isinstance(value, str):
        data = value.encode()
        if len(data) >= size:
            raise InvalidInputError(f"string for '{name}' is {len(data)} bytes; the variable holds at most "
                                    f"{size - 1} plus the NUL")
        return data.ljust(size, b"\0")
    if isinstance(value, float) or (t is not None and t.kind == Kind.FLOAT):
        if size not in (4, 8):
            raise InvalidInputError(f"'{name}' is {size} bytes: cannot hold a float")
        return struct.pack("<f" if size == 4 else "<d", float(value))
    if isinstance(value, bool | int):
        if size not in _INT_FMT:
            raise InvalidInputError(f"'{name}' is {size} bytes: cannot hold an integer")
        signed = bool(getattr(t, "signed", False)) if t is not None else value < 0
        lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
        if not lo <= int(value) <= hi:
            raise InvalidInputError(f"value {value} does not fit '{name}' "
                                    f"({'signed' if signed else 'unsigned'} {8 * size}-bit)")
        return int(value).to_bytes(size, "little", signed=signed)
    if isinstance(value, list | tuple) and t is not None and t.kind == Kind.ARRAY:
        elem_size = btf.sizeof(t.type)
        if len(value) * elem_size > size:
            raise InvalidInputError(f"'{name}' holds {size // elem_size} elements, got {len(value)}")
        data = b"".join(encode_value(btf, t.type, elem_size, v, f"{name}[{i}]") for i, v in enumerate(value))
        return data.ljust(size, b"\0")
    raise InvalidInputError(f"cannot store a {type(value).__name__} in '{name}': give an int, float, str or bytes")
