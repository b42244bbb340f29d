"""The types of bpftrace values, with their size in BPF memory.

Integers, booleans and pointers are 64-bit in registers; strings, tuples,
records, arrays and buffers live on the stack (or in map memory) as
fixed-size byte arrays.  Some integer-sized kinds only change how user space
prints the value (``ksym``, ``kstack``, ``timestamp``...).
"""

from __future__ import annotations

from dataclasses import dataclass

# kinds held in a register (8 bytes in maps and events); user space decides how they print
SCALAR_KINDS = frozenset({"int", "bool", "pointer", "ksym", "kstack", "ustack", "strerror", "timestamp",
                          "cgroup_path", "username", "signal_name"})
# kinds held as bytes in memory
# (usym: the address and the pid whose mappings name it, 16 bytes)
AGGREGATE_KINDS = frozenset({"string", "tuple", "array", "buffer", "inet", "record", "struct", "usym"})


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
        """Size rounded up to 8 bytes: how the value is laid out in keys and events."""
        if self.is_scalar:
            return 8
        return (self.size + 7) & ~7

    def offsets(self) -> list[int]:
        """Byte offset of each tuple element (each padded to 8)."""
        out, pos = [], 0
        for e in self.elems:
            out.append(pos)
            pos += e.padded
        return out

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


def Tup(elems: list[TType], names: list[str] | None = None) -> TType:  # noqa: N802
    return TType("tuple", sum(e.padded for e in elems), False, tuple(elems), tuple(names or ()))


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
