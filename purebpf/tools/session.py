"""The kernel objects of one tool run, owned together.

A tool creates its maps, loads its programs and attaches them through a
:class:`Session`; leaving the ``with`` block (normally, on an error, or on
Ctrl-C) detaches and closes everything in reverse order, so nothing stays
attached after the tool ends.
"""

from __future__ import annotations

import os

from purebpf.errors import BPFError, NotFoundError
from purebpf.events import DropCounter, RingBuffer
from purebpf.maps import Map, MapSpec
from purebpf.sys import MapFlags, MapType

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

RING_SIZE = 1 << 22  # 4 MiB: ~13k opensnoop records, over 0.2 s of 50k events/s between polls


class Session:
    def __init__(self) -> None:
        self._owned: list[Any] = []

    def own(self, obj: T) -> T:
        """Take ownership of anything with ``close()`` (once: a program
        attached at several places is owned once)."""
        if not any(owned is obj for owned in self._owned):
            self._owned.append(obj)
        return obj

    def map(self, kind: MapType, key_size: int, value_size: int, max_entries: int, name: str, *,
            flags: int = 0) -> Map:
        return self.own(Map(MapSpec(kind, key_size, value_size, max_entries, name=name, flags=flags)))

    def hash(self, key_size: int, value_size: int, name: str, *, max_entries: int = 10240,
             prealloc: bool = True) -> Map:
        flags = 0 if prealloc else MapFlags.NO_PREALLOC
        return self.map(MapType.HASH, key_size, value_size, max_entries, name, flags=flags)

    def ring(self, name: str = "events", size: int = RING_SIZE) -> Map:
        return self.map(MapType.RINGBUF, 0, 0, size, name)

    def cgroup_filter(self, path: str | None) -> int | None:
        """A one-slot cgroup array holding ``path`` (for kit.filter_cgroup), or None."""
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise NotFoundError(f"cannot open cgroup {path}: {exc.strerror} (give a cgroup v2 directory)") from None
        try:
            cgroups = self.map(MapType.CGROUP_ARRAY, 4, 4, 1, "cgroup")
            cgroups[0] = fd
        finally:
            os.close(fd)
        return cgroups.fd

    def drops(self) -> DropCounter:
        """A counter of records the programs could not write (ring full)."""
        return self.own(DropCounter())

    def reader(self, ring: Map, callback: Callable[[bytes], Any], drops: DropCounter | None = None) -> RingBuffer:
        return self.own(RingBuffer(ring, callback, lost_counter=drops))

    def tracepoint(self, prog: Any, group: str, name: str) -> Any:
        from purebpf.links import Tracepoint

        self.own(prog)
        return self.own(Tracepoint(prog, group, name))

    def close(self) -> None:
        """Detach every link at once (the kernel's waits overlap), then close the rest, newest first."""
        from purebpf.links import Link, close_all

        close_all([obj for obj in self._owned if isinstance(obj, Link)])
        while self._owned:
            obj = self._owned.pop()
            try:
                obj.close()
            except BPFError:
                pass

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
