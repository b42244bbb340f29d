"""BTF-typed keys and values: codecs from a BTF type, and maps opened with their own BTF."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from purebpf.btf import BTF, BTFBuilder, load_btf
from purebpf.errors import InvalidInputError
from purebpf.maps import Map, MapType
from purebpf.maps.btf_codec import BTFCodec, map_btf_codecs
from purebpf.sys.cpus import possible_cpus

EVENT = {"pid": 7, "comm": "bash", "pair": {"a": 1, "b": 2}, "vals": [5, 6], "st": "RUNNING",
         "x": 0xFFFFFFFD, "y": -3, "flag": 1, "neg": -2, "ok": True}


@contextmanager
def btf_loaded(data: bytes):
    fd = load_btf(data)
    try:
        yield fd.raw
    finally:
        fd.close()


@pytest.fixture(scope="module")
def types():
    """struct key { u32 pid, cpu; } and a struct event with every shape the codec handles."""
    b = BTFBuilder()
    u32, u16 = b.add_int("unsigned int", 4), b.add_int("short unsigned int", 2)
    u64, i32 = b.add_int("long long unsigned int", 8), b.add_int("int", 4, signed=True)
    char, boolean = b.add_int("char", 1, signed=True), b.add_int("_Bool", 1, bool_=True)
    pair = b.add_struct("pair", [("a", u16), ("b", u16)])
    state = b.add_enum("state", {"IDLE": 0, "RUNNING": 1})
    anon = b.add_union("", [("x", u32), ("y", i32)])
    event = b.add_struct("event", [
        ("pid", u32), ("comm", b.add_array(char, 16)), ("pair", pair), ("vals", b.add_array(u64, 2)),
        ("st", state), ("", anon), ("flag", u32, 8 * 48, 1), ("neg", i32, 8 * 48 + 1, 3), ("ok", boolean, 8 * 49)])
    key = b.add_struct("key", [("pid", u32), ("cpu", u32)])
    data = b.to_bytes()
    return data, BTF.from_bytes(data), key, event


def test_codec_round_trip(types):
    _, btf, key, event = types
    codec = BTFCodec(btf, event)
    assert codec.size == 56
    data = codec.encode(EVENT)
    assert data[4:9] == b"bash\0" and data[44:48] == (-3).to_bytes(4, "little", signed=True)
    assert codec.decode(data) == EVENT
    assert BTFCodec(btf, key).decode(BTFCodec(btf, key).encode({"pid": 1})) == {"pid": 1, "cpu": 0}


def test_codec_errors_name_the_field(types):
    _, btf, _, event = types
    codec = BTFCodec(btf, event)
    with pytest.raises(InvalidInputError, match="struct event has no field 'pdi'"):
        codec.encode({"pdi": 1})
    with pytest.raises(InvalidInputError, match="enum state has no value 'GONE'"):
        codec.encode({"st": "GONE"})
    with pytest.raises(InvalidInputError, match=r"does not fit char\[16\]"):
        codec.encode({"comm": "x" * 16})
    with pytest.raises(InvalidInputError, match="does not fit unsigned int"):
        codec.encode({"pid": -1})


@pytest.fixture
def btf_map(types):
    data, btf, key, event = types
    with btf_loaded(data) as fd:
        m = Map(MapType.HASH, 8, btf.sizeof(event), 4, btf_fd=fd, btf_key_type_id=key,
                btf_value_type_id=event, name="events")
    with m:  # the map keeps its own reference to the BTF
        yield m


def test_from_id_decodes_with_the_maps_own_btf(btf_map):
    assert btf_map.info().btf_id
    with Map.from_id(btf_map.id) as typed:
        assert isinstance(typed.value_codec, BTFCodec)
        typed[{"pid": 7, "cpu": 1}] = EVENT
        assert typed[{"pid": 7, "cpu": 1}] == EVENT
        assert list(typed.items()) == [({"pid": 7, "cpu": 1}, EVENT)]
    with Map.from_id(btf_map.id, btf=False) as plain:
        assert plain[7 | 1 << 32][4:9] == b"bash\0"  # plain codecs: an 8-byte int key, raw value bytes
    with Map.from_id(btf_map.id, value=bytes) as mixed:
        assert list(mixed.keys()) == [{"pid": 7, "cpu": 1}] and isinstance(mixed.get({"pid": 7, "cpu": 1}), bytes)


def test_percpu_values_decode_per_slot(types):
    data, btf, key, _ = types
    pair = btf.find_ids("pair")[0]
    with btf_loaded(data) as fd:
        m = Map(MapType.PERCPU_HASH, 8, 4, 2, btf_fd=fd, btf_key_type_id=key, btf_value_type_id=pair)
    with m, Map.from_id(m.id) as typed:
        typed[{"pid": 1, "cpu": 0}] = {"a": 3, "b": 4}
        assert typed[{"pid": 1, "cpu": 0}] == [{"a": 3, "b": 4}] * possible_cpus()


def test_maps_without_btf_have_no_btf_codecs():
    with Map(MapType.HASH, 4, 4, 1) as m:
        assert map_btf_codecs(m.fd) is None
        with Map.from_id(m.id) as again:
            assert type(again.value_codec).__name__ == "IntCodec"
