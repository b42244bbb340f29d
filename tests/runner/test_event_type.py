"""Which struct an event map carries, and decoding records of it."""

from __future__ import annotations

import pytest

from purebpf.elf import read_object
from purebpf.elf.record_type import exported_types, record_sizes, record_type
from purebpf.elf.records import RecordDecoder
from purebpf.errors import NotFoundError
from purebpf.maps.btf_codec import BTFCodec


def _name(spec, tid):
    return spec.btf.type_by_id(tid).name


def test_ring_buffer_sized_by_reserve_and_exported_by_a_global(bpf_objects):
    spec = read_object(bpf_objects["execsnoop"])
    assert record_sizes(spec) == {"rb": {156}}
    assert [_name(spec, t) for t in exported_types(spec)] == ["event"]
    assert _name(spec, record_type(spec, "rb")) == "event"


def test_perf_buffer_sized_by_perf_event_output(bpf_objects):
    spec = read_object(bpf_objects["opensnoop"])
    assert record_sizes(spec) == {"events": {96}}
    assert _name(spec, record_type(spec, "events")) == "open_event"


def test_ring_buffer_typed_by_its_value(bpf_objects):
    spec = read_object(bpf_objects["options"])
    assert _name(spec, record_type(spec, "configs")) == "config"


def test_explicit_type(bpf_objects):
    spec = read_object(bpf_objects["options"])
    assert _name(spec, record_type(spec, "configs", "struct config")) == "config"
    with pytest.raises(NotFoundError, match="has no struct 'nope' in its BTF"):
        record_type(spec, "configs", "nope")


def test_flat_decoder_matches_the_general_codec(bpf_objects):
    spec = read_object(bpf_objects["options"])
    tid = record_type(spec, "configs")
    decoder = RecordDecoder(spec.btf, tid)
    assert decoder.flat
    raw = bytearray(decoder.size)
    raw[0:4] = (42).to_bytes(4, "little")
    raw[8:12] = (7).to_bytes(4, "little")          # mode = MODE_SLOW
    raw[12] = 1                                    # verbose
    raw[14:17] = b"abc"
    raw[32:40] = (-3).to_bytes(8, "little", signed=True)
    event = decoder.decode(bytes(raw) + b"\0\0\0\0")  # perf-style trailing padding is ignored
    assert event == BTFCodec(spec.btf, tid).decode(bytes(raw))
    assert (event.target_pid, event.mode, event.verbose, event.label, event.offset) == (42, "MODE_SLOW", True,
                                                                                        "abc", -3)
    assert [f.name for f in decoder.fields] == ["target_pid", "level", "mode", "verbose", "quiet", "label",
                                                 "offset", "hits"]
    assert decoder.fields[5].kind == "str" and decoder.fields[2].width == len("MODE_FAST")
