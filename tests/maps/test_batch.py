"""MAP_*_BATCH operations, their fallback, and items() built on them."""

from __future__ import annotations

import pytest

from purebpf.errors import InvalidInputError
from purebpf.maps import KeyExistsError, Map, MapFlags, MapType, UpdateFlags
from purebpf.sys import Cmd
from purebpf.sys.cpus import possible_cpus


@pytest.fixture
def big():
    with Map(MapType.HASH, 4, 8, 5000, name="big") as m:
        yield m


def test_update_then_lookup_batch(big):
    assert big.update_batch({i: i * 3 for i in range(3000)}) == 3000
    assert dict(big.lookup_batch()) == {i: i * 3 for i in range(3000)}
    assert not big._no_batch  # the kernel did it in batches
    # small batches: many calls, a bucket larger than a batch makes the buffers grow
    chunks = list(big.iter_batches(batch_size=16))
    assert len(chunks) > 10 and sum(map(len, chunks)) == 3000
    assert dict(kv for c in chunks for kv in c) == dict(big.items())


def test_delete_batch_skips_absent_keys(big):
    big.update_batch((i, i) for i in range(100))
    assert big.delete_batch([1, 2, 1000, 3, 2001, 4]) == 4
    assert len(big) == 96 and 1 not in big and 5 in big


def test_lookup_and_delete_batch_empties_the_map(big):
    big.update_batch({i: i for i in range(500)})
    taken = big.lookup_and_delete_batch(batch_size=64)
    assert sorted(taken) == [(i, i) for i in range(500)] and len(big) == 0
    assert big.lookup_and_delete_batch() == []


def test_percpu_batch_values_are_lists():
    n = possible_cpus()
    with Map(MapType.PERCPU_HASH, 4, 4, 64) as m:
        m.update_batch({1: list(range(n)), 2: 7})
        assert dict(m.lookup_batch()) == {1: list(range(n)), 2: [7] * n}


def test_array_batches_and_fallback_for_delete():
    with Map(MapType.ARRAY, 4, 8, 8, name="arr") as m:
        m.update_batch({1: 10, 3: 30})
        assert dict(m.lookup_batch()) == {0: 0, 1: 10, 2: 0, 3: 30, 4: 0, 5: 0, 6: 0, 7: 0}
        with pytest.raises(InvalidInputError, match="cannot delete index 1 of array map 'arr'"):
            m.delete_batch([1])  # no delete batch for arrays: per key, which explains
        assert Cmd.MAP_DELETE_BATCH in m._no_batch and Cmd.MAP_LOOKUP_BATCH not in m._no_batch


def test_lpm_batches():
    with Map(MapType.LPM_TRIE, 8, 4, 16, flags=MapFlags.NO_PREALLOC) as m:
        m.update_batch({"10.0.0.0/8": 1, "192.168.0.0/16": 2})
        assert sorted(v for _, v in m.lookup_batch()) == [1, 2]


def test_update_batch_with_noexist_names_the_key(big):
    big[5] = 1
    with pytest.raises(KeyExistsError, match="key 5 already exists"):
        big.update_batch({4: 1, 5: 2}, UpdateFlags.NOEXIST)
    assert big[4] == 1 and big[5] == 1


def test_unbatchable_maps_fall_back():
    with Map(MapType.QUEUE, 0, 4, 4) as q:
        q.push(1)
        with pytest.raises(Exception, match="has no keys"):
            q.lookup_batch()
    with Map(MapType.PROG_ARRAY, 4, 4, 4) as p:
        assert p.lookup_batch() == []  # no batch ops on prog arrays: key by key, all slots empty
        assert Cmd.MAP_LOOKUP_BATCH in p._no_batch


def test_wrong_key_in_batch_is_invalid_input(big, no_fd_leak):
    with pytest.raises(InvalidInputError, match="expected an integer"):
        big.update_batch({"x": 1})
    assert len(big) == 0
