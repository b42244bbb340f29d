"""Ring buffer, stack trace, LPM trie, queue/stack and bloom filter maps."""

from __future__ import annotations

import ipaddress
import os

import pytest

from purebpf.asm import R0, R2, R3, call, exit_, ld_map_fd, mov
from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError, SyscallError
from purebpf.links import RawTracepoint
from purebpf.maps import Map, MapFlags, MapType, UpdateFlags
from purebpf.maps.bloom import BloomFilterMap
from purebpf.maps.lpm import LpmKeyCodec, LpmTrieMap
from purebpf.maps.queue import QueueMap, StackMap
from purebpf.maps.ringbuf import RingBufMap
from purebpf.maps.stack_trace import StackTraceMap
from purebpf.programs import Program
from purebpf.sys import ProgType


def test_ringbuf_creation_and_no_element_ops(no_fd_leak):
    with Map(MapType.RINGBUF, max_entries=1 << 16, name="rb") as rb:
        assert isinstance(rb, RingBufMap) and (rb.key_size, rb.value_size) == (0, 0)
        assert rb.info().max_entries == 1 << 16
        with pytest.raises(NotSupportedError, match="ringbuf map 'rb' has no elements.*purebpf.events"):
            rb.lookup_raw(b"")
        with pytest.raises(NotSupportedError):
            list(rb.items())


@pytest.mark.parametrize("size", [1000, 4096 * 3, 0, 2048])
def test_ringbuf_bad_size(size, no_fd_leak):
    with pytest.raises(InvalidInputError, match=f"power of 2 and a multiple of the page size 4096, got {size}"):
        Map(MapType.RINGBUF, 0, 0, size)


def test_ringbuf_rejects_key_size(no_fd_leak):
    with pytest.raises(InvalidInputError, match="needs key_size 0"):
        Map(MapType.RINGBUF, 4, 0, 4096)


def test_stack_trace_map_filled_by_a_program():
    with Map(MapType.STACK_TRACE, 4, 8 * 32, 16, name="stacks") as stacks:
        assert isinstance(stacks, StackTraceMap) and stacks.depth == 32
        insns = [ld_map_fd(R2, stacks.fd), mov(R3, 0), call("get_stackid"), mov(R0, 0), exit_()]
        with Program(ProgType.RAW_TRACEPOINT, insns, name="stackid") as prog:
            with RawTracepoint(prog, "sys_enter"):
                os.getppid()
        items = dict(stacks.items())
        assert len(items) >= 1
        for addrs in items.values():
            assert 0 < len(addrs) <= 32 and all(a >= 0xFFFF800000000000 for a in addrs)  # kernel text
        with pytest.raises(InvalidInputError, match="written by bpf_get_stackid only"):
            stacks[0] = [1, 2]


def test_stack_trace_value_size(no_fd_leak):
    with pytest.raises(InvalidInputError, match="value_size a multiple of 8"):
        Map(MapType.STACK_TRACE, 4, 12, 4)


def test_lpm_trie_longest_prefix_match():
    with Map(MapType.LPM_TRIE, 8, 4, 16, flags=MapFlags.NO_PREALLOC, name="routes") as m:
        assert isinstance(m, LpmTrieMap)
        m["10.0.0.0/8"] = 1
        m[ipaddress.ip_network("10.1.0.0/16")] = 2
        m[(24, bytes([10, 1, 2, 0]))] = 3
        assert m[ipaddress.ip_address("10.1.2.3")] == 3
        assert m["10.1.3.3"] == 2
        assert m[(32, bytes([10, 9, 9, 9]))] == 1
        assert m.get("11.0.0.1") is None
        assert sorted(m.keys(), key=lambda n: n.prefixlen) == [
            ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("10.1.0.0/16"),
            ipaddress.ip_network("10.1.2.0/24")]
        del m["10.1.0.0/16"]
        assert m["10.1.3.3"] == 1


def test_lpm_ipv6_and_raw_pairs():
    with Map(MapType.LPM_TRIE, 20, 8, 4, flags=MapFlags.NO_PREALLOC) as m:
        m["2001:db8::/32"] = 7
        assert m["2001:db8::1"] == 7
    with Map(MapType.LPM_TRIE, 6, 1, 4, flags=MapFlags.NO_PREALLOC) as m:
        m[(12, b"\xab\xc0")] = 1
        assert list(m.keys()) == [(12, b"\xab\xc0")]


def test_lpm_errors(no_fd_leak):
    with pytest.raises(InvalidInputError, match="needs flags=MapFlags.NO_PREALLOC"):
        Map(MapType.LPM_TRIE, 8, 4, 16)
    with pytest.raises(InvalidInputError, match="needs key_size 5..260"):
        Map(MapType.LPM_TRIE, 4, 4, 16, flags=MapFlags.NO_PREALLOC)
    codec = LpmKeyCodec(8)
    with pytest.raises(InvalidInputError, match="LPM key data is 16 bytes but the trie holds 4-byte"):
        codec.encode("::1/128")
    with pytest.raises(InvalidInputError, match="prefix length 33"):
        codec.encode((33, b"\0" * 4))


@pytest.mark.parametrize("map_type, cls, order", [(MapType.QUEUE, QueueMap, [1, 2, 3]),
                                                 (MapType.STACK, StackMap, [3, 2, 1])])
def test_queue_and_stack(map_type, cls, order, no_fd_leak):
    with Map(map_type, 0, 4, 3, name="q") as q:
        assert isinstance(q, cls)
        for v in (1, 2, 3):
            q.push(v)
        with pytest.raises(SyscallError, match="is full \\(max_entries 3\\).*UpdateFlags.EXIST"):
            q.push(4)
        assert q.peek() == order[0]
        assert list(q.drain()) == order
        with pytest.raises(NotFoundError, match="map 'q' is empty"):
            q.pop()
        assert q.pop(None) is None and q.peek(-1) == -1
        with pytest.raises(NotSupportedError, match="has no keys"):
            list(q.keys())


def test_queue_push_exist_overwrites_oldest():
    with Map(MapType.QUEUE, 0, 8, 2) as q:
        q.push(1), q.push(2)
        q.push(3, UpdateFlags.EXIST)
        assert list(q.drain()) == [2, 3]


def test_queue_key_size_must_be_0(no_fd_leak):
    with pytest.raises(InvalidInputError, match=r"queue map needs key_size 0 \(queue maps have no keys\), got 4"):
        Map(MapType.QUEUE, 4, 4, 4)


def test_bloom_filter_membership():
    with Map(MapType.BLOOM_FILTER, 0, 4, 100, nr_hashes=3, name="seen") as b:
        assert isinstance(b, BloomFilterMap) and b.info().map_extra == 3 and b.nr_hashes == 3
        for v in range(0, 100, 2):
            b.push(v)
        assert all(v in b for v in range(0, 100, 2))
        assert sum(v in b for v in range(1, 100, 2)) < 25  # false positives stay rare
        with pytest.raises(NotSupportedError, match="push\\(item\\)"):
            b[0]


def test_bloom_filter_hash_count(no_fd_leak):
    with pytest.raises(InvalidInputError, match="1..15 hash functions"):
        Map(MapType.BLOOM_FILTER, 0, 4, 100, nr_hashes=16)
