"""RingBuffer against the real kernel: programs emit numbered records through
BPF_PROG_TEST_RUN (or a real tracepoint) and the reader must deliver each one,
in order, whole."""

from __future__ import annotations

import os
import struct
import threading
import time

import pytest

from purebpf.asm import FP, R0, R1, R2, R3, R4, JmpOp, add, call, exit_, jmp, ld_map_fd, mov, stx
from purebpf.errors import InvalidInputError
from purebpf.events import DropCounter, RingBuffer
from purebpf.maps import Map, MapType
from purebpf.programs import Program, ProgType

from .progs import output_prog, reserve_prog, run

SEQ2 = struct.Struct("<QQ")


@pytest.fixture
def ring():
    with Map(MapType.RINGBUF, 0, 0, 64 * 1024, name="test_rb") as m:
        yield m


@pytest.fixture
def drops():
    with DropCounter() as d:
        yield d


def body(seq: int, size: int) -> bytes:
    """What reserve_prog writes for ``seq`` in a ``size``-byte record."""
    if size == 8:
        return struct.pack("<Q", seq)
    return struct.pack("<Q", seq) + b"\xab" * (size - 16) + struct.pack("<Q", seq)


def test_callback_gets_every_record_in_order(ring, drops):
    got = []
    with reserve_prog(ring, 16, drops) as prog, RingBuffer(ring, got.append, lost_counter=drops) as rb:
        for seq in range(2000):
            assert run(prog, seq) == 0
        assert rb.poll(1000) == 2000
        assert rb.poll(0) == 0
    assert got == [body(seq, 16) for seq in range(2000)]
    assert rb.consumed == 2000 and rb.lost == 0 and rb.discarded == 0


def test_iterator_reads_output_helper_records(ring):
    with output_prog(ring) as prog, RingBuffer(ring) as rb:
        for seq in range(500):
            run(prog, seq)
        start = time.monotonic()
        got = list(rb.records(timeout=0.2))
        assert time.monotonic() - start < 2
    assert got == [SEQ2.pack(seq, seq) for seq in range(500)]


def test_poll_wakes_up_on_a_record_from_another_thread(ring):
    got = []
    with reserve_prog(ring, 8) as prog, RingBuffer(ring, got.append) as rb:
        timer = threading.Timer(0.2, run, (prog, 42))
        timer.start()
        start = time.monotonic()
        assert rb.poll(5000) == 1
        waited = time.monotonic() - start
        timer.join()
    assert got == [body(42, 8)]
    assert 0.1 < waited < 4


def test_poll_times_out_when_nothing_comes(ring):
    with RingBuffer(ring, lambda data: None) as rb:
        start = time.monotonic()
        assert rb.poll(100) == 0
        assert 0.08 < time.monotonic() - start < 2


def test_records_wrap_around_a_small_ring_many_times(drops):
    """Sizes 8, 24 and 1000 in a 4 KiB ring: records straddle the ring end and
    the ring is reused ~30 times; each must come back byte for byte."""
    sizes = [8, 24, 1000]
    with Map(MapType.RINGBUF, 0, 0, 4096) as small, RingBuffer(small, lost_counter=drops) as rb:
        progs = [reserve_prog(small, size, drops) for size in sizes]
        try:
            expected, got, seq = [], [], 0
            for _round in range(130):
                for prog, size in zip(progs, sizes, strict=True):
                    assert run(prog, seq) == 0
                    expected.append(body(seq, size))
                    seq += 1
                got.extend(rb.consume_batch())
            spans = [(len(b) + 8 + 7) & ~7 for b in expected]
            starts = [sum(spans[:i]) % 4096 for i in range(len(spans))]
            straddling = sum(start + span > 4096 for start, span in zip(starts, spans, strict=True))
        finally:
            for p in progs:
                p.close()
    assert got == expected
    assert sum(spans) > 30 * 4096 and straddling > 20
    assert rb.lost == 0


def test_consume_decoded_fixed_size_records_with_max(ring):
    fmt = struct.Struct("<QQ")
    with output_prog(ring) as prog, RingBuffer(ring) as rb:
        for seq in range(100):
            run(prog, seq)
        first = rb.consume_decoded(fmt, max=30)
        rest = rb.consume_decoded(fmt)
        assert rb.consume_decoded(fmt) == []
    assert first == [(s, s) for s in range(30)]
    assert rest == [(s, s) for s in range(30, 100)]


def test_consume_decoded_across_the_ring_end():
    """A 40-byte record (48 in the ring) does not divide 4 KiB: bulk decoding
    must read straight through the kernel's second mapping of the data."""
    fmt = struct.Struct("<Q24xQ")
    decoded = []
    with Map(MapType.RINGBUF, 0, 0, 4096) as small, reserve_prog(small, 40) as prog, RingBuffer(small) as rb:
        for seq in range(3000):
            assert run(prog, seq) == 0
            if seq % 50 == 49:
                decoded.extend(rb.consume_decoded(fmt))
    assert decoded == [(s, s) for s in range(3000)]


def test_discarded_records_are_skipped(ring):
    with reserve_prog(ring, 16) as keep, reserve_prog(ring, 16, discard=True) as toss, RingBuffer(ring) as rb:
        for seq in range(10):
            run(keep, seq)
            run(toss, 1000 + seq)
        assert rb.consume_batch() == [body(s, 16) for s in range(10)]
        for seq in range(10):
            run(toss, seq)
            run(keep, seq)
        assert rb.consume_decoded(struct.Struct("<QQ")) == [(s, s) for s in range(10)]
        assert rb.discarded == 20 and rb.consumed == 20


def test_decoding_a_record_of_another_size_raises_and_skips_it(ring):
    with reserve_prog(ring, 8) as short, reserve_prog(ring, 16) as full, RingBuffer(ring) as rb:
        run(full, 1)
        run(short, 2)
        run(full, 3)
        fmt = struct.Struct("<QQ")
        assert rb.consume_decoded(fmt) == [(1, 1)]
        with pytest.raises(InvalidInputError, match="8-byte record"):
            rb.consume_decoded(fmt)
        assert rb.consume_decoded(fmt) == [(3, 3)]


def test_multiple_ring_buffers_in_one_poll(drops):
    a_got, b_got = [], []
    with Map(MapType.RINGBUF, 0, 0, 4096) as a, Map(MapType.RINGBUF, 0, 0, 8192) as b, \
            DropCounter() as b_drops, RingBuffer(a, a_got.append, lost_counter=drops) as rb:
        rb.add(b, b_got.append, lost_counter=b_drops)
        with reserve_prog(a, 8, drops) as pa, reserve_prog(b, 16, b_drops) as pb:
            for seq in range(50):
                run(pa, seq)
                run(pb, seq)
            delivered = 0
            deadline = time.monotonic() + 5
            while delivered < 100 and time.monotonic() < deadline:
                delivered += rb.poll(100)
            # a wakeup on the second ring alone
            threading.Timer(0.1, run, (pb, 99)).start()
            assert rb.poll(5000) == 1
        assert len(rb.rings) == 2 and rb.lost == 0 and rb.consumed == 101
    assert a_got == [body(s, 8) for s in range(50)]
    assert b_got == [body(s, 16) for s in range(50)] + [body(99, 16)]


def test_lost_counts_reserves_that_failed_on_a_full_ring(drops):
    """Nothing reads while 300 records go to a ring that holds 170 (24 bytes
    each in 4 KiB): the program's own counter sees the 130 failures."""
    with Map(MapType.RINGBUF, 0, 0, 4096) as small, reserve_prog(small, 16, drops) as prog, \
            RingBuffer(small, lost_counter=drops) as rb:
        failed = sum(run(prog, seq) for seq in range(300))
        got = rb.consume_decoded(struct.Struct("<QQ"))
        assert rb.lost == failed == 300 - 4096 // 24
        assert len(got) + rb.lost == 300
        assert [s for s, _ in got] == list(range(len(got)))


def test_lost_is_none_without_a_counter(ring):
    with RingBuffer(ring) as rb:
        assert rb.lost is None


def test_a_raising_callback_loses_nothing(ring):
    got = []

    def callback(data: bytes) -> None:
        if len(got) == 3 and not getattr(callback, "raised", False):
            callback.raised = True
            raise RuntimeError("boom")
        got.append(data)

    with reserve_prog(ring, 8) as prog, RingBuffer(ring, callback) as rb:
        for seq in range(10):
            run(prog, seq)
        with pytest.raises(RuntimeError):
            rb.poll(0)
        rb.consume()
    assert got == [body(s, 8) for s in range(10) if s != 3]


def test_records_from_a_real_tracepoint(ring):
    """A tracepoint program on syscalls:sys_enter_getpid sends this thread's
    pid_tgid for each getpid() the test makes."""
    from purebpf.links.tracepoint import Tracepoint

    tid = threading.get_native_id()
    insns = [
        call("get_current_pid_tgid"), stx(8, FP, -8, R0),
        mov(R1, R0), jmp(JmpOp.JNE, R1, tid, 7, bits=32),  # another thread: ignore
        ld_map_fd(R1, ring.fd), mov(R2, FP), add(R2, -8), mov(R3, 8), mov(R4, 0), call("ringbuf_output"),
        mov(R0, 0), exit_(),
    ]
    with Program(ProgType.TRACEPOINT, insns, name="getpid_rb") as prog, RingBuffer(ring) as rb:
        with Tracepoint(prog, "syscalls", "sys_enter_getpid"):
            for _ in range(100):
                os.getpid()
        got = rb.consume_decoded(struct.Struct("<Q"))
    assert got == [((os.getpid() << 32) | tid,)] * 100


def test_reader_from_fd_keeps_the_callers_fd(ring, no_fd_leak):
    with reserve_prog(ring, 8) as prog:
        with RingBuffer(ring.fd) as rb:
            run(prog, 5)
            assert rb.consume_batch() == [body(5, 8)]
        assert not ring.closed
        run(prog, 6)  # the map still works


def test_wrong_map_type_is_refused_without_leaks(no_fd_leak):
    with Map(MapType.ARRAY, 4, 8, 1) as arr:
        with pytest.raises(InvalidInputError, match="RINGBUF"):
            RingBuffer(arr)
        with pytest.raises(InvalidInputError, match="RINGBUF"):
            RingBuffer(arr.fd)
        with pytest.raises(InvalidInputError, match="Map or a map fd"):
            RingBuffer("events")  # type: ignore[arg-type]


def test_poll_without_a_callback_says_how_to_read(ring):
    with reserve_prog(ring, 8) as prog, RingBuffer(ring) as rb:
        run(prog, 1)
        with pytest.raises(InvalidInputError, match="callback"):
            rb.poll(0)
        assert rb.consume_batch() == [body(1, 8)]  # the record was not lost


def test_close_unmaps_and_closes(no_fd_leak):
    m = Map(MapType.RINGBUF, 0, 0, 4096)
    rb = RingBuffer(m.fd)
    rb.add(m)
    rb.close()
    assert rb.closed
    m.close()


def test_drop_counter_increment_is_jumpable(drops):
    bump = drops.increment()
    assert drops.slots(bump) == 4  # 64-bit map value load + mov + atomic add
    assert drops.value == 0


def test_use_after_close_fails_loudly(ring):
    from purebpf.sys import ClosedError

    rb = RingBuffer(ring, lambda data: None)
    rb.close()
    rb.close()  # idempotent
    for use in (lambda: rb.poll(0), lambda: rb.consume_batch(), lambda: rb.wait(0), lambda: list(rb.records(0)),
                lambda: rb.consume_decoded(SEQ2)):
        with pytest.raises(ClosedError):
            use()
