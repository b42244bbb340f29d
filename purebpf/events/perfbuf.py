"""Reading ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` output (``bpf_perf_event_output``)
through one perf ring per CPU.

    with PerfBuffer(events_map, lambda cpu, data: print(cpu, data.hex())) as pb:
        while True:
            pb.poll(100)

For every online CPU this opens a software ``BPF_OUTPUT`` perf event with
``PERF_SAMPLE_RAW``, stores its fd in the map at index ``cpu`` (where the
program's ``BPF_F_CURRENT_CPU`` output lands), and maps 1 + ``pages`` pages:
the ``perf_event_mmap_page`` header (``data_head`` written by the kernel,
``data_tail`` by us) then the data ring.  Records are 8-byte aligned and may
wrap around the end of the ring; they are reassembled here.

Works on any kernel with BPF perf output (4.4+).  A full ring makes the kernel
drop samples and later write a ``PERF_RECORD_LOST`` record with the count:
:attr:`PerfBuffer.lost` adds those up and ``lost_callback(cpu, count)`` hears of
each.  A sample's data is the kernel's raw payload, which it pads so that the
u32 size plus the data is a multiple of 8: a 16-byte output arrives as 20 bytes.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from typing import Any

from purebpf.errors import InvalidInputError
from purebpf.events import _ordering
from purebpf.events._reader import EpollReader, resolve_map
from purebpf.maps import Map
from purebpf.sys import FD, MapType
from purebpf.sys.cpus import online_cpus
from purebpf.sys.perf import (
    FLAG_WATERMARK,
    PERF_RECORD_LOST,
    PERF_RECORD_SAMPLE,
    PERF_SAMPLE_RAW,
    PerfType,
    SoftwareEvent,
    enable,
    open_event,
)

# u64 slots of struct perf_event_mmap_page (byte offsets 1024, 1032, 1040, 1048)
DATA_HEAD, DATA_TAIL, DATA_OFFSET, DATA_SIZE = 128, 129, 130, 131

_HEADER = struct.Struct("<IHH")   # perf_event_header: type, misc, size
_RAW_SIZE = struct.Struct("<I")   # PERF_SAMPLE_RAW: u32 size, then the data
_LOST = struct.Struct("<QQ")      # PERF_RECORD_LOST body: id, lost
_SAMPLE_DATA = 12                 # header + raw size

LostCallback = Callable[[int, int], Any]


class CpuRing:
    """One CPU's perf event and its mapped ring."""

    def __init__(self, cpu: int, pages: int, *, wakeup_events: int, watermark: int,
                 callback: Callable[[int, bytes], Any] | None, lost_callback: LostCallback | None) -> None:
        self.cpu = cpu
        self.callback = callback
        self.lost_callback = lost_callback
        self.pending: list[Any] = []
        self.spread_items = True  # callback(cpu, data)
        self.consumed = 0
        self.lost = 0
        self._mm: mmap.mmap | None = None
        self._carry: list[Any] = []  # samples held back by a raising lost_callback
        self._fd = FD(open_event(
            PerfType.SOFTWARE, SoftwareEvent.BPF_OUTPUT, pid=-1, cpu=cpu, sample_period=1,
            sample_type=PERF_SAMPLE_RAW, wakeup_events=watermark or wakeup_events,
            flags=FLAG_WATERMARK if watermark else 0, what=f"BPF output event on CPU {cpu}"))
        page = mmap.PAGESIZE
        try:
            self._mm = mmap.mmap(self._fd.raw, (1 + pages) * page, mmap.MAP_SHARED,
                                 mmap.PROT_READ | mmap.PROT_WRITE)
            self._meta = memoryview(self._mm)[:page].cast("Q")
            self._offset, self._size = self._meta[DATA_OFFSET], self._meta[DATA_SIZE]
            if not self._size:  # kernels before 4.1 leave these zero: data follows the first page
                self._offset, self._size = page, pages * page
            enable(self._fd.raw)
        except BaseException:
            self.close()
            raise
        self._mask = self._size - 1

    @property
    def fd(self) -> int:
        return self._fd.raw

    def _record(self, off: int, size: int) -> tuple[Any, int]:
        """Where the record at ring offset ``off`` can be parsed: the map itself,
        or a copy when it wraps around the ring end."""
        mm = self._mm
        pos = self._offset + off
        if off + size <= self._size:
            return mm, pos
        first = self._size - off
        return mm[pos:pos + first] + mm[self._offset:self._offset + size - first], 0  # type: ignore[index]

    def _walk(self, limit: int | None, on_sample: Callable[[Any, int, int], Any]) -> list[Any]:
        """Run ``on_sample(buffer, data_pos, raw_size)`` for each sample from data_tail
        to data_head, count LOST records, hand the space back, then tell
        ``lost_callback`` (if it raises, this batch's samples come with the next)."""
        meta, mask = self._meta, self._mask
        head, tail = meta[DATA_HEAD], meta[DATA_TAIL]
        if not _ordering.STRONGLY_ORDERED:
            _ordering.fence()
        out, self._carry = self._carry, []
        lost_events: list[int] = []
        unpack_header, mm, base, ring_size = _HEADER.unpack_from, self._mm, self._offset, self._size
        try:
            while tail < head and (limit is None or len(out) < limit):
                off = tail & mask
                kind, _, size = unpack_header(mm, base + off)  # 8-aligned: a header never wraps
                if size < _HEADER.size:
                    tail = head  # a corrupt ring: drop what is left rather than spin
                    break
                buf, pos = (mm, base + off) if off + size <= ring_size else self._record(off, size)
                if kind == PERF_RECORD_SAMPLE:
                    try:
                        item = on_sample(buf, pos + _SAMPLE_DATA, _RAW_SIZE.unpack_from(buf, pos + 8)[0])
                    except InvalidInputError:
                        if out:
                            break  # return what decoded; the next call reports the odd sample
                        tail += size
                        raise
                    out.append(item)
                elif kind == PERF_RECORD_LOST:
                    lost = _LOST.unpack_from(buf, pos + 8)[1]
                    self.lost += lost
                    lost_events.append(lost)
                tail += size
        finally:
            if not _ordering.STRONGLY_ORDERED:
                _ordering.fence()
            meta[DATA_TAIL] = tail
            self.consumed += len(out)
        if self.lost_callback is not None:
            for lost in lost_events:
                try:
                    self.lost_callback(self.cpu, lost)
                except BaseException:
                    self._carry = out
                    self.consumed -= len(out)
                    raise
        return out

    def take(self, limit: int | None) -> list[tuple[int, bytes]]:
        cpu = self.cpu
        return self._walk(limit, lambda buf, pos, n: (cpu, bytes(buf[pos:pos + n])))

    def take_decoded(self, fmt: struct.Struct, limit: int | None = None) -> list[tuple[int, tuple]]:
        cpu, size, unpack = self.cpu, fmt.size, fmt.unpack_from

        def decode(buf: Any, pos: int, n: int) -> tuple[int, tuple]:
            if n < size:
                raise InvalidInputError(f"a {n}-byte sample on CPU {cpu} is shorter than the {size}-byte "
                                        f"format '{fmt.format}'")
            return cpu, unpack(buf, pos)
        taken = self.pending[:limit] if limit is not None else self.pending
        self.pending = self.pending[len(taken):]
        return [(c, fmt.unpack_from(d)) for c, d in taken] + self._walk(
            None if limit is None else limit - len(taken), decode)

    def close(self) -> None:
        meta = self.__dict__.pop("_meta", None)
        if meta is not None:
            meta.release()
        if self._mm is not None:
            self._mm.close()
            self._mm = None
        self._fd.close()


class PerfBuffer(EpollReader):
    """Per-CPU perf rings behind one ``PERF_EVENT_ARRAY`` map (libbpf's ``perf_buffer``).

    ``pages`` (a power of two) is each CPU's ring size in pages.  Wakeups come
    after every ``wakeup_events`` samples, or once ``watermark`` bytes are
    waiting when that is set (fewer wakeups, more latency).
    """

    def __init__(self, map_or_fd: Map | int, callback: Callable[[int, bytes], Any] | None = None, *,
                 pages: int = 8, lost_callback: LostCallback | None = None, wakeup_events: int = 1,
                 watermark: int = 0, cpus: list[int] | None = None) -> None:
        if pages <= 0 or pages & (pages - 1):
            raise InvalidInputError(f"pages must be a power of two, not {pages}")
        super().__init__()
        self.map, self._owns_map = None, False
        self.map, self._owns_map = resolve_map(map_or_fd, MapType.PERF_EVENT_ARRAY, "PerfBuffer")
        try:
            for cpu in online_cpus() if cpus is None else cpus:
                if cpu >= self.map.max_entries:
                    raise InvalidInputError(
                        f"CPU {cpu} has no slot in perf event array '{self.map.name}' of {self.map.max_entries} "
                        "entries; create it with at least as many entries as CPUs")
                ring = CpuRing(cpu, pages, wakeup_events=wakeup_events, watermark=watermark,
                               callback=callback, lost_callback=lost_callback)
                self._watch(ring)
                self.map.update_raw(_RAW_SIZE.pack(cpu), _RAW_SIZE.pack(ring.fd))
        except BaseException:
            self.close()
            raise

    @property
    def cpus(self) -> list[CpuRing]:
        return list(self._sources)  # type: ignore[arg-type]

    @property
    def lost(self) -> int:
        """Samples the kernel dropped because a CPU's ring was full (from LOST records)."""
        return sum(r.lost for r in self._sources)  # type: ignore[attr-defined]

    @property
    def lost_by_cpu(self) -> dict[int, int]:
        return {r.cpu: r.lost for r in self._sources}  # type: ignore[attr-defined]

    def close(self) -> None:
        if self.map is not None and not self.map.closed and not self.closed:
            for ring in self._sources:
                self.map.delete_raw(_RAW_SIZE.pack(ring.cpu))  # type: ignore[attr-defined]
        super().close()
        if self._owns_map and self.map is not None:
            self.map.close()

    def __enter__(self) -> PerfBuffer:
        return self
