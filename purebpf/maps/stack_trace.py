"""Stack trace maps: stack id (u32) -> the instruction pointers of one stack.

Programs fill them with ``bpf_get_stackid``; user space reads them.  A stack
is ``value_size / 8`` addresses, unused ones zero; the typed value is the list
of addresses up to the first zero.  With ``MapFlags.STACK_BUILD_ID`` each
frame is a 32-byte ``bpf_stack_build_id`` instead (see :class:`BuildIdFrame`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from purebpf.errors import InvalidInputError
from purebpf.maps.codec import Codec
from purebpf.maps.map import Map, MapSpec, require_positive, require_size
from purebpf.sys import MapFlags

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any

MAX_STACK_DEPTH = 127  # default kernel.perf_event_max_stack
BUILD_ID_FRAME = struct.Struct("<i20s4xQ")  # status, build_id[20], (pad), offset or ip


@dataclass(frozen=True)
class BuildIdFrame:
    """One frame of a build-id stack: ``status`` 1 = build id + file offset, 2 = raw ip only."""
    status: int
    build_id: bytes
    offset: int


class StackAddressesCodec:
    """Decodes a stack value into its non-zero frames."""

    def __init__(self, size: int, build_id: bool = False) -> None:
        self.size, self.build_id = size, build_id

    def encode(self, value: Any) -> bytes:
        raise InvalidInputError("stack trace maps are written by bpf_get_stackid only, not from user space")

    def decode(self, data: bytes) -> list[Any]:
        if self.build_id:
            frames = [BuildIdFrame(s, bid, off) for s, bid, off in BUILD_ID_FRAME.iter_unpack(data)]
            out = []
            for frame in frames:
                if frame.status == 0:  # BPF_STACK_BUILD_ID_EMPTY
                    break
                out.append(frame)
            return out
        addrs = []
        for (ip,) in struct.iter_unpack("<Q", data):
            if ip == 0:
                break
            addrs.append(ip)
        return addrs


class StackTraceMap(Map):
    btf_value_codec = False  # frames, decoded by StackAddressesCodec

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 4, "the key is a u32 stack id")
        if spec.value_size == 0:
            spec.value_size = 8 * MAX_STACK_DEPTH
        frame = BUILD_ID_FRAME.size if spec.flags & MapFlags.STACK_BUILD_ID else 8
        if spec.value_size % frame:
            raise InvalidInputError(f"{spec.describe()} needs value_size a multiple of {frame} "
                                    f"(one {frame}-byte frame per stack entry), got {spec.value_size}")
        require_positive(spec, "max_entries")

    def _default_value_codec(self) -> Codec:
        return StackAddressesCodec(self.value_size, bool(self.flags & MapFlags.STACK_BUILD_ID))

    @property
    def depth(self) -> int:
        """Frames per stack."""
        frame = BUILD_ID_FRAME.size if self.flags & MapFlags.STACK_BUILD_ID else 8
        return self.value_size // frame


__all__ = ["BuildIdFrame", "StackAddressesCodec", "StackTraceMap"]
