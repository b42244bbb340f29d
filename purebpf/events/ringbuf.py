"""Reading BPF ring buffers (``BPF_MAP_TYPE_RINGBUF``, Linux 5.8+) through mmap.

    with RingBuffer(events_map, lambda data: print(data.hex())) as rb:
        while True:
            rb.poll(100)

Layout the kernel maps for a ring of ``size`` bytes: page 0 holds
``consumer_pos`` (ours to write), page 1 ``producer_pos`` (read-only), and from
page 2 the data, mapped twice back to back so a record that runs past the end
is still contiguous.  Each record has an 8-byte header (u32 length with the
BUSY bit while the producer writes it and the DISCARD bit if it was thrown
away, then u32 page offset) and starts on an 8-byte boundary.

Records are handed out as ``bytes`` copies: the space behind them is returned
to the kernel (``consumer_pos`` advanced) before callbacks run, so a slow
callback never makes the program drop records.

Lost records: when the ring is full, ``bpf_ringbuf_reserve``/``output`` fail in
the program and the kernel counts nothing.  The only honest count is the
program's own: see :class:`~purebpf.events.drops.DropCounter`, and pass it as
``lost_counter`` to make :attr:`RingBuffer.lost` a real number.
"""

from __future__ import annotations

import mmap
import struct

from purebpf.errors import InvalidInputError, syscall_error
from purebpf.events import _ordering
from purebpf.events._reader import EpollReader, resolve_map
from purebpf.events.drops import DropCounter
from purebpf.maps import Map
from purebpf.sys import MapType

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HEADER_SIZE = 8
LEN_MASK = DISCARD_BIT - 1


def _record_span(length: int) -> int:
    """Bytes a record of ``length`` occupies in the ring, header included."""
    return (length + HEADER_SIZE + 7) & ~7


class Ring:
    """One ring buffer map mapped into this process (one ``RingBuffer`` may hold several)."""

    def __init__(self, map_or_fd: Map | int, callback: Callable[[bytes], Any] | None = None,
                 lost_counter: DropCounter | None = None) -> None:
        _ordering.require_ordering()
        self.map, self._owns_map = resolve_map(map_or_fd, MapType.RINGBUF, "RingBuffer")
        self.callback = callback
        self.lost_counter = lost_counter
        self.pending: list[Any] = []
        self.spread_items = False
        self.consumed = 0     # records handed out
        self.discarded = 0    # records the program discarded (skipped)
        self.size = self.map.max_entries
        self._mask = self.size - 1
        self._decoders: dict[str, struct.Struct] = {}
        page = mmap.PAGESIZE
        self._cons_mm = self._prod_mm = None
        try:
            self._cons_mm = mmap.mmap(self.map.fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self._prod_mm = mmap.mmap(self.map.fd, page + 2 * self.size, mmap.MAP_SHARED, mmap.PROT_READ,
                                      offset=page)
        except OSError as exc:
            self._unmap()
            if self._owns_map:
                self.map.close()
            raise syscall_error("mmap", exc.errno or 0, f"ring buffer '{self.map.name}'") from None
        self._cons = memoryview(self._cons_mm)[:8].cast("Q")
        self._prod = memoryview(self._prod_mm)[:8].cast("Q")
        self._data = memoryview(self._prod_mm)[page:]
        self._words = self._data.cast("I")
        self._base = page  # offset of the data in _prod_mm

    @property
    def fd(self) -> int:
        return self.map.fd

    @property
    def lost(self) -> int | None:
        """Records the program failed to reserve, or None when no counter measures it."""
        return None if self.lost_counter is None else self.lost_counter.value

    def available(self) -> int:
        """Bytes written by the producer and not consumed yet."""
        return self._prod[0] - self._cons[0]

    # -- consuming ---------------------------------------------------------------

    def take(self, limit: int | None) -> list[bytes]:
        """Copy out up to ``limit`` committed records and give their space back."""
        out: list[bytes] = []
        cons, prod = self._cons[0], self._prod[0]
        strong = _ordering.STRONGLY_ORDERED
        if not strong:
            _ordering.fence()
        words, mm, mask, base = self._words, self._prod_mm, self._mask, self._base
        left = -1 if limit is None else limit
        skipped = 0
        while cons < prod and left:
            off = cons & mask
            head = words[off >> 2]
            if head & BUSY_BIT:
                break  # reserved but not yet submitted: everything after waits too
            if not strong:
                _ordering.fence()
            length = head & LEN_MASK
            if head & DISCARD_BIT:
                skipped += 1
            else:
                start = base + off + HEADER_SIZE
                out.append(mm[start:start + length])
                left -= 1
            cons += (length + HEADER_SIZE + 7) & ~7
        self._release(cons)
        self.consumed += len(out)
        self.discarded += skipped
        return out

    def take_decoded(self, fmt: struct.Struct, limit: int | None = None) -> list[tuple]:
        """Like :meth:`take` but unpack each record with ``fmt`` straight from the
        ring (no per-record copy).  Runs of records exactly ``fmt.size`` long are
        decoded by one ``iter_unpack`` call.  A record of another size ends the
        batch; the call that meets it first raises, and skips it."""
        whole = self._decoder(fmt)
        size, stride = fmt.size, whole.size
        step = stride >> 2
        out = self._pending_decoded(fmt, limit)
        cons, prod = self._cons[0], self._prod[0]
        if not _ordering.STRONGLY_ORDERED:
            _ordering.fence()
        words, data, mask = self._words, self._data, self._mask
        try:
            while cons < prod and (limit is None or len(out) < limit):
                off = cons & mask
                n = (prod - cons) // stride
                if limit is not None:
                    n = min(n, limit - len(out))
                if n:
                    heads = words[off >> 2:(off >> 2) + n * step:step].tolist()
                    k = n if heads.count(size) == n else _leading(heads, size)
                    if k:
                        if not _ordering.STRONGLY_ORDERED:
                            _ordering.fence()
                        out.extend(whole.iter_unpack(data[off:off + k * stride]))
                        cons += k * stride
                        if k == n:
                            continue
                head = words[(cons & mask) >> 2]
                if head & BUSY_BIT:
                    break
                length = head & LEN_MASK
                if head & DISCARD_BIT:
                    cons += _record_span(length)
                    self.discarded += 1
                    continue
                if out:
                    break  # return what decoded; the next call reports the odd record
                cons += _record_span(length)
                raise InvalidInputError(
                    f"a {length}-byte record in ring buffer '{self.map.name}' does not fit the {size}-byte "
                    f"format '{fmt.format}'; it was skipped (use consume_batch() for variable-size records)")
        finally:
            self._release(cons)
            self.consumed += len(out)
        return out

    def _pending_decoded(self, fmt: struct.Struct, limit: int | None) -> list[tuple]:
        """Records a raising callback left behind come first."""
        n = len(self.pending) if limit is None else min(limit, len(self.pending))
        taken, self.pending = self.pending[:n], self.pending[n:]
        try:
            return [fmt.unpack(item) for item in taken]
        except struct.error:
            raise InvalidInputError(f"a pending record does not fit the {fmt.size}-byte format '{fmt.format}'; "
                                    "read it with consume_batch()") from None

    def _decoder(self, fmt: struct.Struct) -> struct.Struct:
        """``fmt`` framed by the record header before and the padding after."""
        whole = self._decoders.get(fmt.format)
        if whole is None:
            body = fmt.format
            order = body[0] if body[:1] in ("@", "=", "<", ">", "!") else "@"
            body = body[1:] if body[:1] in ("@", "=", "<", ">", "!") else body
            pad = _record_span(fmt.size) - HEADER_SIZE - fmt.size
            whole = struct.Struct(f"{order}{HEADER_SIZE}x{body}{pad}x")
            if whole.size != _record_span(fmt.size):
                raise InvalidInputError(f"struct format '{fmt.format}' has alignment padding that changes its "
                                        "size after an 8-byte header; use an explicit byte order ('<' or '=')")
            self._decoders[fmt.format] = whole
        return whole

    def _release(self, cons: int) -> None:
        if not _ordering.STRONGLY_ORDERED:
            _ordering.fence()  # all reads of the records happen before the kernel may reuse them
        self._cons[0] = cons

    # -- lifetime ----------------------------------------------------------------

    def _unmap(self) -> None:
        for name in ("_words", "_data", "_prod", "_cons"):
            view = self.__dict__.pop(name, None)
            if view is not None:
                view.release()
        for mm in (self._cons_mm, self._prod_mm):
            if mm is not None:
                mm.close()
        self._cons_mm = self._prod_mm = None

    def close(self) -> None:
        self._unmap()
        if self._owns_map:
            self.map.close()


def _leading(values: list[int], wanted: int) -> int:
    """How many leading ``values`` equal ``wanted``."""
    for i, v in enumerate(values):
        if v != wanted:
            return i
    return len(values)


class RingBuffer(EpollReader):
    """Reads one or more ring buffer maps through one epoll (libbpf's
    ``ring_buffer__new`` + ``ring_buffer__add``).

    Callback style: ``RingBuffer(m, cb)`` then ``poll(timeout_ms)``.  Pull styles:
    ``for data in rb.records(timeout=1.0)``, ``rb.consume_batch()`` and, for
    fixed-size records, ``rb.consume_decoded(struct.Struct("<QQ..."))``.
    """

    def __init__(self, map_or_fd: Map | int | None = None, callback: Callable[[bytes], Any] | None = None, *,
                 lost_counter: DropCounter | None = None) -> None:
        super().__init__()
        if map_or_fd is not None:
            try:
                self.add(map_or_fd, callback, lost_counter=lost_counter)
            except BaseException:
                self.close()
                raise

    def add(self, map_or_fd: Map | int, callback: Callable[[bytes], Any] | None = None, *,
            lost_counter: DropCounter | None = None) -> Ring:
        """Read another ring buffer map in the same poll loop."""
        ring = Ring(map_or_fd, callback, lost_counter)
        try:
            self._watch(ring)
        except BaseException:
            ring.close()
            raise
        return ring

    @property
    def rings(self) -> list[Ring]:
        return list(self._sources)  # type: ignore[arg-type]

    @property
    def discarded(self) -> int:
        return sum(r.discarded for r in self._sources)  # type: ignore[attr-defined]

    @property
    def lost(self) -> int | None:
        """Records the programs failed to write, counted by their :class:`DropCounter`;
        None unless every ring has one (the kernel keeps no such count)."""
        counts = [r.lost for r in self._sources]  # type: ignore[attr-defined]
        return None if not counts or None in counts else sum(counts)  # type: ignore[arg-type]

    def __enter__(self) -> RingBuffer:
        return self
