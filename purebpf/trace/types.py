"""The types of bpftrace values, with their size in BPF memory.

Integers are 64-bit in registers; strings, tuples and records live on the
stack (or in map memory) as fixed-size byte arrays.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TType:
    kind: str  # "int", "string", "tuple", "none", "ctx", "stack", ...
    size: int = 8
    signed: bool = False
    elems: tuple[TType, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def is_int(self) -> bool:
        return self.kind == "int"

    @property
    def is_aggregate(self) -> bool:
        """Values kept as bytes in memory rather than in a register."""
        return self.kind in ("string", "tuple")

    @property
    def padded(self) -> int:
        """Size rounded up to 8 bytes: how the value is laid out in keys and events."""
        return (self.size + 7) & ~7

    def offsets(self) -> list[int]:
        """Byte offset of each tuple element (each padded to 8)."""
        out, pos = [], 0
        for e in self.elems:
            out.append(pos)
            pos += e.padded
        return out

    def __str__(self) -> str:
        if self.kind == "int":
            return f"{'int' if self.signed else 'uint'}{self.size * 8}"
        if self.kind == "string":
            return f"string[{self.size}]"
        if self.kind == "tuple":
            return "(" + ",".join(str(e) for e in self.elems) + ")"
        return self.kind


def Int(size: int = 8, signed: bool = True) -> TType:  # noqa: N802 - a type constructor
    return TType("int", size, signed)


def Str(size: int = 64) -> TType:  # noqa: N802
    return TType("string", size)


def Tup(elems: list[TType], names: list[str] | None = None) -> TType:  # noqa: N802
    return TType("tuple", sum(e.padded for e in elems), False, tuple(elems), tuple(names or ()))


NONE = TType("none", 0)
INT64 = Int(8, True)
UINT64 = Int(8, False)
COMM = Str(16)
STRING = Str(64)
