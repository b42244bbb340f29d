"""The types of bpftrace values, with their size in BPF memory.

Integers, booleans and pointers are 64-bit in registers; strings, tuples,
records, arrays and buffers live on the stack (or in map memory) as
fixed-size byte arrays.  Some integer-sized kinds only change how user space
prints the value (``ksym``, ``kstack``, ``timestamp``...).

The rules, as current bpftrace (0.2x) has them:

- an integer literal has the smallest signed type that holds it (``1`` and
  ``-1`` are ``int8``, ``300`` is ``int16``, ``100000`` is ``int32``), and
  ``uint64`` above ``INT64_MAX``; a comparison is a ``bool`` (1 byte); a cast
  has the type it names;
- a value standing alone (a variable, a map value or scalar key, an event
  argument) keeps its type for ``sizeof`` and messages but is held in a 64-bit
  slot, so ``$x = 1; $x = 100000;`` and ``$x++`` past 127 keep working;
  arithmetic is 64-bit;
- a tuple (and a record) is laid out as a C struct: each element at its
  natural alignment and own size (an ``int8`` takes one byte, a ``string[3]``
  three), the whole rounded up to its largest alignment, so
  ``((int8)1, (int16)1, (int32)1)`` is 8 bytes; map keys with several parts
  are such tuples (``@g[1, "hi"]`` has key ``(int8,string[3])``);
- where two types meet (a variable or map assigned twice, ternary branches,
  tuple elements), integers are promoted to one that holds both.
"""

from __future__ import annotations

from dataclasses import dataclass

# kinds held in a register (8 bytes in maps and events); user space decides how they print
SCALAR_KINDS = frozenset({"int", "bool", "pointer", "ksym", "kstack", "ustack", "strerror", "timestamp",
                          "cgroup_path", "username", "signal_name"})
# kinds held as bytes in memory
# (usym: the address and the pid whose mappings name it, 16 bytes)
AGGREGATE_KINDS = frozenset({"string", "tuple", "array", "buffer", "inet", "record", "struct", "usym", "macaddr"})


@dataclass(frozen=True)
class TType:
    kind: str  # "int", "bool", "string", "tuple", "array", "pointer", "none", ...
    size: int = 8
    signed: bool = False
    elems: tuple[TType, ...] = ()
    names: tuple[str, ...] = ()
    extra: str = ""  # enum name, struct name, strftime format, stack mode...
    # a struct value's members (names, elems) sit at these bit offsets; a bitfield has a width
    offs: tuple[int, ...] = ()
    widths: tuple[int, ...] = ()

    @property
    def is_int(self) -> bool:
        return self.kind == "int"

    @property
    def is_scalar(self) -> bool:
        return self.kind in SCALAR_KINDS

    @property
    def is_aggregate(self) -> bool:
        """Values kept as bytes in memory rather than in a register."""
        return self.kind in AGGREGATE_KINDS

    @property
    def is_record(self) -> bool:
        return self.kind == "tuple" and bool(self.names)

    @property
    def padded(self) -> int:
        """The slot a value standing alone takes (a variable, a map key or value, an event argument):
        8 bytes for scalars, the size rounded up to 8 for the rest."""
        if self.is_scalar:
            return 8
        return (self.size + 7) & ~7

    @property
    def align(self) -> int:
        """C alignment of the value inside a tuple."""
        if self.kind in ("int", "bool"):
            return self.field_size
        if self.is_scalar or self.kind in ("buffer", "inet", "usym"):
            return 8
        if self.kind in ("tuple", "array", "struct") and self.elems:
            return max(e.align for e in self.elems)
        if self.kind == "struct":  # members unknown: the largest power of two dividing its size
            return min(8, self.size & -self.size) if self.size else 1
        return 1

    @property
    def field_size(self) -> int:
        """Bytes the value takes inside a tuple: integers their own size, other scalars 8."""
        if self.kind in ("int", "bool"):
            return self.size if self.size in (1, 2, 4, 8) else 8
        return 8 if self.is_scalar else self.size

    def offsets(self) -> list[int]:
        """Byte offset of each tuple element, laid out as a C struct (natural alignment)."""
        return _layout(self.elems)[0]

    @property
    def count(self) -> int:
        """Elements of an array."""
        return self.size // max(self.elems[0].size, 1) if self.kind == "array" else 0

    def __str__(self) -> str:
        if self.kind == "int":
            if self.extra:
                return f"enum {self.extra}"
            return f"{'int' if self.signed else 'uint'}{self.size * 8}"
        if self.kind == "string":
            return f"string[{self.size}]"
        if self.kind == "tuple":
            if self.names:
                return "record { " + ", ".join(f"{t} {n}" for n, t in zip(self.names, self.elems, strict=True)) \
                    + " }"
            return "(" + ",".join(str(e) for e in self.elems) + ")"
        if self.kind == "pointer":
            return f"{self.elems[0] if self.elems else 'void'} *"
        if self.kind == "array":
            return f"{self.elems[0]}[{self.count}]"
        if self.kind == "buffer":
            return f"buffer[{self.size - 8}]"
        if self.kind == "inet":
            return "inet[16]"
        if self.kind == "ksym":
            return "ksym_t"
        if self.kind == "usym":
            return "usym_t"
        if self.kind in ("kstack", "ustack"):
            return f"{self.kind}_t"
        if self.kind == "struct":
            return "struct " + (self.extra if not self.extra.startswith("#") else "(anonymous)")
        if self.kind == "timestamp":
            return "timestamp"
        return self.kind


def Int(size: int = 8, signed: bool = True) -> TType:  # noqa: N802 - a type constructor
    return TType("int", size, signed)


def Str(size: int = 64) -> TType:  # noqa: N802
    return TType("string", size)


def _layout(elems: tuple[TType, ...] | list[TType]) -> tuple[list[int], int]:
    """Offsets of C struct members of these types, and the struct's size."""
    out, pos, align = [], 0, 1
    for e in elems:
        a = e.align
        pos = (pos + a - 1) // a * a
        out.append(pos)
        pos += e.field_size
        align = max(align, a)
    return out, (pos + align - 1) // align * align


def Tup(elems: list[TType], names: list[str] | None = None) -> TType:  # noqa: N802
    return TType("tuple", _layout(elems)[1], False, tuple(elems), tuple(names or ()))


def literal_type(value: int) -> TType:
    """An integer literal's type: the smallest signed integer holding it (uint64 past INT64_MAX)."""
    for size in (1, 2, 4, 8):
        if -(1 << (size * 8 - 1)) <= value < (1 << (size * 8 - 1)):
            return Int(size, True)
    return Int(8, False)


def promote(a: TType, b: TType) -> TType:
    """The integer type holding every value of integer types ``a`` and ``b``."""
    if a.signed == b.signed:
        size = max(a.size, b.size)
    else:
        signed, unsigned = (a, b) if a.signed else (b, a)
        size = max(signed.size, min(8, unsigned.size * 2))
    return TType("int", size, a.signed or b.signed, extra=a.extra if a.extra == b.extra else "")


def Ptr(pointee: TType) -> TType:  # noqa: N802
    return TType("pointer", 8, False, (pointee,))


def Array(elem: TType, count: int) -> TType:  # noqa: N802
    return TType("array", elem.size * count, False, (elem,))


def Buffer(length: int) -> TType:  # noqa: N802
    """``buf()``: an 8-byte length, then the bytes."""
    return TType("buffer", 8 + length)


NONE = TType("none", 0)
BOOL = TType("bool", 1)
INT64 = Int(8, True)
UINT64 = Int(8, False)
COMM = Str(16)
STRING = Str(64)
INET = TType("inet", 24)  # u64 family, then 16 address bytes
MACADDR = TType("macaddr", 6)  # the six bytes of an Ethernet address
