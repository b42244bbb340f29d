"""A reader of one event map of a loaded object that hands out decoded records.

    reader = open_reader(obj, "rb", print)      # print(Event(pid=..., comm=...))
    while True:
        reader.poll(100)

Ring buffers and perf buffers read the same way here; the record type comes
from :func:`purebpf.elf.record_type.record_type` (or ``event_type=``), and
records of an object without one are handed out as ``bytes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from purebpf.elf.record_type import record_type
from purebpf.elf.records import RecordDecoder
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.sys import MapType

if TYPE_CHECKING:
    from purebpf.object import BPFObject

EVENT_MAP_TYPES = (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY)


def event_maps(obj: BPFObject) -> list[str]:
    """Names of the object's ring buffer and perf buffer maps."""
    return [name for name, m in obj.maps.items() if m.type in EVENT_MAP_TYPES]


def decoder_for(obj: BPFObject, map_name: str, event_type: str | int | None = None) -> RecordDecoder | None:
    tid = record_type(obj.spec, map_name, event_type)
    return RecordDecoder(obj.spec.btf, tid) if tid is not None else None


class EventReader:
    """Decoding wrapper over a :class:`RingBuffer` or :class:`PerfBuffer`."""

    def __init__(self, obj: BPFObject, map_name: str, callback: Callable[[Any], Any] | None = None, *,
                 event_type: str | int | None = None) -> None:
        if map_name not in obj.maps:
            raise NotFoundError(f"{obj.spec.path} has no map '{map_name}' (maps: {', '.join(obj.maps)})")
        m = obj.maps[map_name]
        if m.type not in EVENT_MAP_TYPES:
            raise InvalidInputError(f"map '{map_name}' is a {m.type.name.lower()} map; events come from "
                                    f"ring buffer or perf event array maps ({', '.join(event_maps(obj)) or 'none'})")
        self.map_name = map_name
        self.decoder = decoder_for(obj, map_name, event_type)
        self.callback = callback  # may be set later, before the first poll
        self._decode = self.decoder.decode if self.decoder is not None else bytes
        if m.type == MapType.RINGBUF:
            from purebpf.events import RingBuffer
            self.is_perf = False
            self._reader: Any = RingBuffer(m, self._on_record)
        else:
            from purebpf.events import PerfBuffer
            self.is_perf = True
            self._reader = PerfBuffer(m, lambda cpu, data: self._on_record(data))

    def _on_record(self, data: bytes) -> None:
        self.callback(self._decode(data))

    def poll(self, timeout_ms: int = -1) -> int:
        """Wait up to ``timeout_ms`` for records and hand each, decoded, to the callback."""
        self._require_callback()
        return self._reader.poll(timeout_ms)

    def consume(self) -> int:
        self._require_callback()
        return self._reader.consume()

    def _require_callback(self) -> None:
        if self.callback is None:
            raise InvalidInputError(f"reading '{self.map_name}' with poll() needs a callback; "
                                    "or iterate with records()")

    def records(self, timeout: float | None = None) -> Iterator[Any]:
        """Decoded records as they come; stops after ``timeout`` idle seconds (None: never)."""
        decode = self._decode
        for item in self._reader.records(timeout):
            yield decode(item[1] if self.is_perf else item)

    @property
    def lost(self) -> int | None:
        """Records the kernel dropped (perf buffers count them; ring buffers cannot)."""
        return self._reader.lost if self.is_perf else None

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_events(obj: BPFObject, map_name: str, *, event_type: str | int | None = None,
                timeout: float | None = None) -> Iterator[Any]:
    """Decoded records of ``map_name`` until ``timeout`` idle seconds; the reader
    is closed when the iteration ends or the generator is closed."""
    with EventReader(obj, map_name, event_type=event_type) as reader:
        yield from reader.records(timeout)
