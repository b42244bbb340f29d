"""What the ring buffer and perf buffer readers share: one epoll over many
sources, callback delivery that survives a raising callback, the blocking
iterator, and resolving a ``Map``-or-fd argument.

A *source* is one memory-mapped ring (one ring buffer map, or one CPU's perf
ring).  It knows how to copy its ready records out (``take``); the reader
decides when to wait and whom to hand them to.
"""

from __future__ import annotations

import os
import select
import struct
import time

from purebpf.errors import InvalidInputError
from purebpf.maps import Map
from purebpf.sys import ClosedError, MapType

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Protocol
else:
    Protocol = object  # Source is a plain base at run time


class Source(Protocol):
    fd: int
    pending: list[Any]
    callback: Callable[..., Any] | None
    spread_items: bool  # call callback(*item) rather than callback(item)

    def take(self, limit: int | None) -> list[Any]: ...

    def close(self) -> None: ...


def resolve_map(map_or_fd: Map | int, expected: MapType, reader: str) -> tuple[Map, bool]:
    """The map to read, and whether we own it (an fd argument is duplicated so
    the caller keeps theirs)."""
    if isinstance(map_or_fd, Map):
        map_, owned = map_or_fd, False
    elif isinstance(map_or_fd, int) and not isinstance(map_or_fd, bool):
        map_, owned = Map.from_fd(os.dup(map_or_fd)), True
    else:
        raise InvalidInputError(f"{reader} needs a Map or a map fd, not {type(map_or_fd).__name__}")
    if map_.type != expected:
        if owned:
            map_.close()
        raise InvalidInputError(
            f"{reader} reads a {expected.name} map, but '{map_.name or 'the map'}' is a {map_.type.name} map")
    return map_, owned


class EpollReader:
    """Base of :class:`RingBuffer` and :class:`PerfBuffer`.  Subclasses append
    sources to ``_sources`` and call :meth:`_watch` for each."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._sources: list[Source] = []

    def _watch(self, source: Source) -> None:
        self._epoll.register(source.fd, select.EPOLLIN)
        self._sources.append(source)

    def _check_open(self) -> None:
        if self._epoll.closed:
            raise ClosedError(f"use of a closed {type(self).__name__}")

    def _wait(self, timeout: float | None) -> list[Source]:
        """Sources with data, waiting up to ``timeout`` seconds (None: forever)."""
        self._check_open()
        by_fd = {s.fd: s for s in self._sources}
        while True:
            try:
                events = self._epoll.poll(-1 if timeout is None else timeout)
            except InterruptedError:  # pragma: no cover - PEP 475 retries already
                continue
            return [by_fd[fd] for fd, _ in events if fd in by_fd]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until some ring has records (or ``timeout`` seconds pass); True if
        one has.  Pairs with :meth:`consume_batch` for a batch loop."""
        return bool(self._wait(timeout))

    # -- callback style -------------------------------------------------------------

    def poll(self, timeout_ms: int = -1) -> int:
        """Wait up to ``timeout_ms`` (negative: forever) for records, hand every
        ready record to its callback, and return how many were delivered."""
        self._require_callbacks()
        ready = self._wait(None if timeout_ms < 0 else timeout_ms / 1000)
        return sum(self._deliver(s) for s in ready)

    def consume(self) -> int:
        """Deliver whatever is ready now to the callbacks, without waiting."""
        self._require_callbacks()
        return sum(self._deliver(s) for s in self._sources)

    def _require_callbacks(self) -> None:
        if any(s.callback is None for s in self._sources):
            raise InvalidInputError(
                f"poll() and consume() hand records to callbacks: pass callback= to {type(self).__name__}() "
                "(and add()), or read with records() / consume_batch()")

    def _deliver(self, source: Source) -> int:
        # copy the batch out first so the kernel gets its space back at once; if a
        # callback raises, the rest of the batch waits in ``pending`` for next time
        items = source.pending + source.take(None) if source.pending else source.take(None)
        source.pending = []
        callback = source.callback
        i = 0
        try:
            if source.spread_items:
                for i, item in enumerate(items):  # noqa: B007 - i is read on failure
                    callback(*item)
            else:
                for i, item in enumerate(items):  # noqa: B007
                    callback(item)
        except BaseException:
            source.pending = items[i + 1:]
            raise
        return len(items)

    # -- pull styles ------------------------------------------------------------------

    def consume_batch(self, max: int | None = None) -> list[Any]:
        """Copy out up to ``max`` ready records (all when None) without waiting."""
        self._check_open()
        out: list[Any] = []
        for s in self._sources:
            if s.pending:
                n = len(s.pending) if max is None else min(len(s.pending), max - len(out))
                out.extend(s.pending[:n])
                s.pending = s.pending[n:]
            if max is not None and len(out) >= max:
                break
            out.extend(s.take(None if max is None else max - len(out)))
        return out

    def consume_decoded(self, fmt: struct.Struct, max: int | None = None) -> list[Any]:
        """Ready fixed-size records decoded with ``fmt`` in bulk, without waiting
        (ring buffers give the field tuples, perf buffers ``(cpu, fields)``)."""
        self._check_open()
        out: list[Any] = []
        for source in self._sources:
            out.extend(source.take_decoded(fmt, None if max is None else max - len(out)))  # type: ignore[attr-defined]
            if max is not None and len(out) >= max:
                break
        return out

    @property
    def consumed(self) -> int:
        return sum(s.consumed for s in self._sources)  # type: ignore[attr-defined]

    def records(self, timeout: float | None = None) -> Iterator[Any]:
        """Yield records as they arrive; stop once ``timeout`` seconds pass with
        no new record (None: never stop on its own)."""
        idle_since: float | None = None
        while True:
            batch = self.consume_batch()
            if batch:
                idle_since = None
                yield from batch
                continue
            now = time.monotonic()
            idle_since = now if idle_since is None else idle_since
            remaining = None if timeout is None else timeout - (now - idle_since)
            if remaining is not None and remaining <= 0:
                return
            self._wait(remaining)

    # -- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Unmap every ring and close every fd this reader opened (the counters
        stay readable)."""
        for s in self._sources:
            s.close()
        self._epoll.close()

    @property
    def closed(self) -> bool:
        return self._epoll.closed

    def __enter__(self) -> EpollReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

