"""Counting the records a BPF program could not write to a ring buffer.

The kernel keeps no count of failed ``bpf_ringbuf_reserve``/``bpf_ringbuf_output``
calls (unlike perf buffers, which emit LOST records), so the only true number
is one the program keeps itself.  ``DropCounter`` is that counter: a one-slot
array map plus the instructions that bump it, to splice into a program on the
path where reserve returned NULL (or output returned an error).

    drops = DropCounter()
    bump = drops.increment()
    prog = [..., call("ringbuf_reserve"), jmp(JmpOp.JNE, R0, 0, drops.slots(bump)), *bump, ...]
    rb = RingBuffer(events, cb, lost_counter=drops)   # rb.lost is now measured
"""

from __future__ import annotations

from purebpf.asm import AtomicOp, Instruction, Reg, atomic, ld_map_value, mov
from purebpf.maps import Map
from purebpf.sys import MapType


class DropCounter:
    """A u64 in a one-element array map, incremented atomically by the program."""

    def __init__(self, name: str = "drops") -> None:
        self.map = Map(MapType.ARRAY, 4, 8, 1, name=name)

    def increment(self, scratch: tuple[Reg, Reg] = (Reg.R1, Reg.R2)) -> list[Instruction]:
        """Instructions adding 1 to the counter; they clobber the two ``scratch`` registers."""
        ptr, one = scratch
        return [ld_map_value(ptr, self.map.fd, 0), mov(one, 1), atomic(AtomicOp.ADD, 8, ptr, 0, one)]

    @staticmethod
    def slots(insns: list[Instruction]) -> int:
        """Jump distance over ``insns`` (a 64-bit load takes two slots)."""
        return sum(i.slots for i in insns)

    @property
    def value(self) -> int:
        return self.map[0]

    def reset(self) -> None:
        self.map[0] = 0

    def close(self) -> None:
        self.map.close()

    def __enter__(self) -> DropCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
