"""PerfBuffer against the real kernel: a raw tracepoint program run on a chosen
CPU with BPF_PROG_TEST_RUN writes numbered samples to that CPU's perf ring."""

from __future__ import annotations

import errno
import struct
import threading
import time

import pytest

from purebpf.errors import InvalidInputError
from purebpf.events import PerfBuffer
from purebpf.maps import Map, MapType
from purebpf.sys.cpus import online_cpus

from .progs import perf_prog, run

SAMPLE = struct.Struct("<QQ")  # seq, cpu


def raw(seq: int, cpu: int, size: int = 16) -> bytes:
    """What the kernel hands back for perf_prog's ``size``-byte sample: the data
    padded so the u32 size plus the data is a multiple of 8."""
    padded = ((size + 4 + 7) & ~7) - 4
    return SAMPLE.pack(seq, cpu) + bytes(padded - 16)


@pytest.fixture
def events():
    with Map(MapType.PERF_EVENT_ARRAY, 4, 4, max(online_cpus()) + 1, name="test_perf") as m:
        yield m


def test_one_ring_per_online_cpu(events):
    with PerfBuffer(events) as pb:
        assert [r.cpu for r in pb.cpus] == online_cpus()
        assert len({r.fd for r in pb.cpus}) == len(online_cpus())


def test_every_sample_per_cpu_in_order(events):
    got: dict[int, list[bytes]] = {}
    cpus = online_cpus()
    with perf_prog(events) as prog, PerfBuffer(events, lambda cpu, data: got.setdefault(cpu, []).append(data)) as pb:
        for seq in range(300):
            for cpu in cpus:
                assert run(prog, seq, cpu=cpu) == 0
        deadline = time.monotonic() + 5
        while pb.consumed < 300 * len(cpus) and time.monotonic() < deadline:
            pb.poll(100)
        assert pb.lost == 0 and pb.consumed == 300 * len(cpus)
    assert got == {cpu: [raw(seq, cpu) for seq in range(300)] for cpu in cpus}


def test_poll_wakes_up_for_a_sample_from_another_thread(events):
    got = []
    with perf_prog(events) as prog, PerfBuffer(events, lambda cpu, data: got.append((cpu, data))) as pb:
        threading.Timer(0.2, run, (prog, 7), {"cpu": 0}).start()
        start = time.monotonic()
        assert pb.poll(5000) == 1
        assert 0.1 < time.monotonic() - start < 4
    assert got == [(0, raw(7, 0))]


def test_samples_that_wrap_around_the_ring_end(events):
    """40-byte samples take 56 bytes in a one-page ring: ~1000 of them go round
    ~13 times and many straddle the end, which the reader must stitch."""
    size = 40
    with perf_prog(events, size) as prog, PerfBuffer(events, pages=1, cpus=[0]) as pb:
        got = []
        for seq in range(1000):
            assert run(prog, seq, cpu=0) == 0
            if seq % 40 == 39:
                got.extend(pb.consume_batch())
        got.extend(pb.consume_batch())
        assert pb.lost == 0
    assert got == [(0, raw(seq, 0, size)) for seq in range(1000)]
    assert 1000 * 56 > 13 * 4096


def test_iterator_and_decoded_batches(events):
    cpus = online_cpus()
    with perf_prog(events) as prog, PerfBuffer(events) as pb:
        for seq in range(20):
            run(prog, seq, cpu=cpus[seq % len(cpus)])
        decoded = pb.consume_decoded(SAMPLE, max=5)
        rest = list(pb.records(timeout=0.2))
    both = [(cpu, fields) for cpu, fields in decoded] + [(cpu, SAMPLE.unpack_from(data)) for cpu, data in rest]
    assert len(decoded) == 5 and len(both) == 20
    assert sorted(fields for _, fields in both) == [(seq, cpus[seq % len(cpus)]) for seq in range(20)]
    assert all(cpu == fields[1] for cpu, fields in both)


def test_overrun_ring_reports_lost_samples(events):
    """Nothing reads while 300 16-byte samples (32 bytes each) go to a one-page
    ring: the kernel refuses those that do not fit and, with the next sample
    that does, writes a LOST record carrying their number."""
    lost_calls = []
    with perf_prog(events) as prog, PerfBuffer(events, pages=1, cpus=[0],
                                               lost_callback=lambda cpu, n: lost_calls.append((cpu, n))) as pb:
        results = [run(prog, seq, cpu=0) for seq in range(300)]
        refused = results.count(-errno.ENOSPC)
        assert refused > 0 and results.count(0) + refused == 300
        first = pb.consume_batch()
        assert pb.lost == 0  # the LOST record is written with the next sample that fits
        assert run(prog, 300, cpu=0) == 0
        after = pb.consume_batch()
        assert pb.lost == refused and lost_calls == [(0, refused)]
        assert pb.lost_by_cpu == {0: refused}
    delivered = first + after
    assert len(delivered) + pb.lost == 301
    assert [SAMPLE.unpack_from(d)[0] for _, d in first] == list(range(len(first)))
    assert after == [(0, raw(300, 0))]


def test_close_empties_the_map_slots(events, no_fd_leak):
    pb = PerfBuffer(events)
    pb.close()
    assert pb.closed
    key = struct.pack("<I", online_cpus()[0])
    assert events.delete_raw(key) is False  # already empty
    pb.close()  # twice is fine


def test_map_too_small_for_the_cpus_is_refused_without_leaks(no_fd_leak):
    if len(online_cpus()) < 2:
        pytest.skip("needs two online CPUs")
    with Map(MapType.PERF_EVENT_ARRAY, 4, 4, 1) as tiny:
        with pytest.raises(InvalidInputError, match="CPU 1 has no slot"):
            PerfBuffer(tiny)
        assert tiny.delete_raw(struct.pack("<I", 0)) is False  # slot 0 was emptied again


def test_bad_arguments(events, no_fd_leak):
    with pytest.raises(InvalidInputError, match="power of two"):
        PerfBuffer(events, pages=3)
    with Map(MapType.RINGBUF, 0, 0, 4096) as rb:
        with pytest.raises(InvalidInputError, match="PERF_EVENT_ARRAY"):
            PerfBuffer(rb)
    with PerfBuffer(events.fd, cpus=[0]) as pb:
        assert [r.cpu for r in pb.cpus] == [0]
    assert not events.closed


def test_watermark_defers_wakeups_but_not_reads(events):
    """With a 2 KiB watermark three 32-byte samples wake nobody, yet they are
    there for a batch read; crossing the watermark wakes the poller."""
    with perf_prog(events) as prog, PerfBuffer(events, pages=1, cpus=[0], watermark=2048) as pb:
        for seq in range(3):
            run(prog, seq, cpu=0)
        assert not pb.wait(0.1)
        assert [SAMPLE.unpack_from(d)[0] for _, d in pb.consume_batch()] == [0, 1, 2]
        for seq in range(3, 3 + 2048 // 32 + 1):
            run(prog, seq, cpu=0)
        assert pb.wait(1.0)


def test_a_raising_lost_callback_loses_no_sample(events):
    def lost_callback(cpu: int, count: int) -> None:
        raise RuntimeError("lost!")

    with perf_prog(events) as prog, PerfBuffer(events, pages=1, cpus=[0], lost_callback=lost_callback) as pb:
        refused = [run(prog, seq, cpu=0) for seq in range(200)].count(-errno.ENOSPC)
        first = pb.consume_batch()
        run(prog, 200, cpu=0)
        with pytest.raises(RuntimeError, match="lost!"):
            pb.consume_batch()
        assert pb.lost == refused
        assert pb.consume_batch() == [(0, raw(200, 0))]  # held back, not dropped
        assert pb.consumed == len(first) + 1


def test_decoding_a_short_sample_raises_and_skips_it(events):
    with perf_prog(events) as prog, PerfBuffer(events, cpus=[0]) as pb:
        for seq in range(3):
            run(prog, seq, cpu=0)
        wide = struct.Struct("<QQQ")  # 24 bytes: longer than the 20-byte samples
        with pytest.raises(InvalidInputError, match="shorter"):
            pb.consume_decoded(wide)
        assert pb.consume_decoded(SAMPLE) == [(0, (1, 0)), (0, (2, 0))]
