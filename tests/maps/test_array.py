"""Array and per-CPU maps."""

from __future__ import annotations

import os

import pytest

from purebpf.errors import InvalidInputError
from purebpf.maps import Map, MapType
from purebpf.maps.array import ArrayMap
from purebpf.maps.percpu import PerCPUArrayMap, PerCPUHashMap
from purebpf.sys.cpus import parse_cpu_list, possible_cpus


def test_array_slots_always_exist():
    with Map(MapType.ARRAY, 4, 8, 4, name="arr") as m:
        assert isinstance(m, ArrayMap)
        assert dict(m.items()) == {0: 0, 1: 0, 2: 0, 3: 0} and len(m) == 4
        m[2] = 7
        assert m[2] == 7
        assert 4 not in m
        with pytest.raises(InvalidInputError, match="cannot delete index 2 of array map 'arr'.*set the slot to zero"):
            del m[2]


def test_array_key_size_must_be_4(no_fd_leak):
    with pytest.raises(InvalidInputError, match=r"array map 'a' needs key_size 4 \(the key is a u32 index\), got 8"):
        Map(MapType.ARRAY, 8, 4, 4, name="a")
    with pytest.raises(InvalidInputError, match="needs max_entries > 0"):
        Map(MapType.ARRAY, 4, 4, 0)


def test_possible_cpus_matches_sysfs():
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    assert possible_cpus() == len(parse_cpu_list(open("/sys/devices/system/cpu/possible").read()))
    assert possible_cpus() >= os.cpu_count()


@pytest.mark.parametrize("map_type", [MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH, MapType.PERCPU_ARRAY])
def test_percpu_values_one_per_cpu(map_type):
    n = possible_cpus()
    with Map(map_type, 4, 4, 8) as m:  # 4-byte values sit in 8-byte per-CPU slots
        assert m.value_bytes == 8 * n
        written = [100 + cpu for cpu in range(n)]
        m[1] = written
        assert m[1] == written and m.sum(1) == sum(written)
        # the kernel sees slot i at offset 8*i: check the raw layout too
        raw = m.lookup_raw((1).to_bytes(4, "little"))
        assert [int.from_bytes(raw[8 * i:8 * i + 4], "little") for i in range(n)] == written
        m[2] = 5  # one value: every CPU
        assert m[2] == [5] * n
        assert dict(m.items())[1] == written


def test_percpu_odd_value_size_round_up():
    n = possible_cpus()
    with Map(MapType.PERCPU_HASH, 4, 12, 4, value=bytes) as m:
        assert m.slot_size == 16 and m.value_bytes == 16 * n
        m[0] = [bytes([i]) * 12 for i in range(n)]
        assert m[0] == [bytes([i]) * 12 for i in range(n)]


def test_percpu_wrong_list_length(no_fd_leak):
    n = possible_cpus()
    with Map(MapType.PERCPU_ARRAY, 4, 8, 2, name="pc") as m:
        assert isinstance(m, PerCPUArrayMap)
        with pytest.raises(InvalidInputError, match=f"percpu_array map 'pc' needs a list of {n} values"):
            m[0] = [1] * (n + 1)
    with pytest.raises(InvalidInputError, match="needs key_size 4"):
        Map(MapType.PERCPU_ARRAY, 8, 8, 2)
    with pytest.raises(InvalidInputError, match="value_size > 0"):
        PerCPUHashMap(MapType.PERCPU_HASH, 4, 0, 2)
