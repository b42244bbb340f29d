"""Hash maps: typed and raw access, update flags, errors, freeze, pins and the factory."""

from __future__ import annotations

import os

import pytest

from purebpf.errors import BPFError, InvalidInputError, NotFoundError, SyscallError
from purebpf.maps import KeyExistsError, Map, MapSpec, MapType, MissingKeyError, UpdateFlags
from purebpf.maps.percpu import PerCPUHashMap
from purebpf.sys.objects import iter_ids


@pytest.fixture
def counts():
    with Map(MapType.HASH, 4, 8, 16, name="counts") as m:
        yield m


def test_typed_dict_access(counts):
    counts[1] = 10
    counts[2] = 20
    assert counts[1] == 10 and counts.get(3) is None and counts.get(3, -1) == -1
    assert 1 in counts and 3 not in counts
    assert sorted(counts.items()) == [(1, 10), (2, 20)]
    assert sorted(counts) == [1, 2] and sorted(counts.values()) == [10, 20] and len(counts) == 2
    del counts[1]
    with pytest.raises(KeyError):
        del counts[1]
    with pytest.raises(KeyError):
        counts[1]
    assert counts.delete(2) is True and counts.delete(2) is False
    assert len(counts) == 0


def test_raw_access_round_trips_bytes(counts):
    counts.update_raw((7).to_bytes(4, "little"), (99).to_bytes(8, "little"))
    assert counts.lookup_raw((7).to_bytes(4, "little")) == (99).to_bytes(8, "little")
    assert counts.lookup_raw(b"\0" * 4) is None
    assert list(counts.keys_raw()) == [(7).to_bytes(4, "little")]
    assert counts.delete_raw((7).to_bytes(4, "little")) and not counts.delete_raw((7).to_bytes(4, "little"))


def test_update_flags(counts):
    counts.update(1, 5, UpdateFlags.NOEXIST)
    with pytest.raises(KeyExistsError, match="key 1 already exists in hash map 'counts'") as exc:
        counts.update(1, 6, UpdateFlags.NOEXIST)
    assert isinstance(exc.value, KeyError) and isinstance(exc.value, BPFError)
    counts.update(1, 7, UpdateFlags.EXIST)
    with pytest.raises(MissingKeyError, match="key 2 is not in hash map 'counts'.*EXIST"):
        counts.update(2, 1, UpdateFlags.EXIST)
    assert dict(counts.items()) == {1: 7}


def test_wrong_sizes_name_both(counts, no_fd_leak):
    with pytest.raises(InvalidInputError, match="key is 8 bytes but hash map 'counts' has 4-byte keys"):
        counts.lookup_raw(b"\0" * 8)
    with pytest.raises(InvalidInputError, match="value is 4 bytes but hash map 'counts' has 8-byte values"):
        counts.update_raw(b"\0" * 4, b"\0" * 4)
    with pytest.raises(InvalidInputError, match="does not fit in 32 bits"):
        counts[1 << 40] = 1
    with pytest.raises(InvalidInputError, match="key_size > 0"):
        Map(MapType.HASH, 0, 8, 16)
    with pytest.raises(InvalidInputError, match="type '<Q' is 8 bytes but the map's field is 4"):
        Map(MapType.HASH, 4, 8, 16, key="<Q")


def test_full_map_says_so(no_fd_leak):
    with Map(MapType.HASH, 4, 4, 2, name="tiny") as m:
        m[1], m[2] = 1, 2
        with pytest.raises(SyscallError, match=r"hash map 'tiny' is full \(max_entries 2\)"):
            m[3] = 3


def test_lookup_and_delete_and_pop(counts):
    counts[1] = 11
    assert counts.lookup_and_delete(1) == 11
    assert 1 not in counts
    with pytest.raises(MissingKeyError, match="key 1 is not in"):
        counts.lookup_and_delete(1)
    counts[2] = 22
    assert counts.pop(2) == 22 and counts.pop(2, None) is None
    with pytest.raises(KeyError):
        counts.pop(2)


def test_freeze_stops_user_space_writes(counts):
    counts[1] = 1
    assert not counts.frozen
    counts.freeze()
    assert counts.frozen and counts[1] == 1
    with pytest.raises(SyscallError, match="hash map 'counts' is frozen"):
        counts[1] = 2
    with pytest.raises(SyscallError, match="is frozen"):
        del counts[1]


def test_struct_and_bytes_codecs():
    with Map(MapType.HASH, 8, 16, 4, key="<II", value=bytes) as m:
        m[(1, 2)] = b"hello"
        assert m[(1, 2)] == b"hello" + b"\0" * 11
        assert list(m.keys()) == [(1, 2)]


def test_lru_hash_evicts_instead_of_failing():
    with Map(MapType.LRU_HASH, 4, 4, 64) as m:
        for i in range(500):
            m[i] = i
        assert 0 < len(m) <= 64 and m[499] == 499


def test_info_and_memlock_and_id(counts):
    info = counts.info()
    assert (info.type, info.key_size, info.value_size, info.max_entries) == (MapType.HASH, 4, 8, 16)
    assert info.name == b"counts" and counts.id == info.id and counts.id in set(iter_ids("map"))
    assert counts.memlock > 0


def test_spec_is_not_mutated_and_name_is_cleaned():
    spec = MapSpec(MapType.ARRAY, 0, 4, 2, name="my-map with spaces and more")
    with Map(spec) as m:
        assert spec.key_size == 0 and m.key_size == 4
        assert m.info().name == b"my_map_with_spa"


def test_pin_and_open_pinned(counts, pin_dir):
    counts[5] = 50
    path = str(pin_dir / "counts")
    counts.pin(path)
    with Map.from_pin(path) as again:
        assert again.id == counts.id and again[5] == 50 and again.name == "counts"
        again[6] = 60
    assert counts[6] == 60
    with pytest.raises(NotFoundError, match="nothing is pinned at"):
        Map.from_pin(str(pin_dir / "absent"))
    with pytest.raises(SyscallError, match="EEXIST"):
        counts.pin(path)


def test_from_id_and_from_fd_pick_the_subclass(no_fd_leak):
    with Map(MapType.PERCPU_HASH, 4, 4, 4) as m:
        assert isinstance(m, PerCPUHashMap)
        with Map.from_id(m.id) as again:
            assert type(again) is PerCPUHashMap and again.value_bytes == m.value_bytes
        with Map.from_fd(os.dup(m.fd)) as again:
            assert type(again) is PerCPUHashMap
    with pytest.raises(NotFoundError, match="no map with id"):
        Map.from_id(0x7FFFFFF0)


def test_closed_map_fails_loudly(counts):
    counts.close()
    counts.close()
    assert counts.closed and "closed" in repr(counts)
    with pytest.raises(BPFError, match="closed"):
        counts[1] = 1


def test_unknown_type_is_invalid_input(no_fd_leak):
    with pytest.raises(InvalidInputError, match="unknown map type 999"):
        Map(999, 4, 4, 4)
