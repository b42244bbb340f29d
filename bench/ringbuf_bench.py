#!/usr/bin/env python3
"""Ring buffer throughput: purebpf's reader against libbpf's, same producer, same run.

    sudo python3 bench/ringbuf_bench.py [--runs 5] [--seconds 1.0] [--rate 200000]

A SCHED_CLS program run through BPF_PROG_TEST_RUN with ``repeat`` writes one
64-byte record per run (17M records/s here), in a child process, while the
reader under test consumes.  Two workloads:

* drain full: the ring is filled with no reader, then one timed pass reads
  it all: the reader's own cost per record, free of scheduling noise.
* flat out: the producer runs as fast as the kernel lets it for --seconds;
  the ring overflows, so the figure is the reader's capacity (records it got
  per second) and most records are lost: that is expected.
* paced: the producer emits --rate records/s in 10 ms bursts; every record
  must arrive (lost == 0).

Readers: purebpf's callback style (``poll`` + a callback that unpacks the
sequence number), its batch decoding (``consume_decoded`` with a precompiled
``struct.Struct``), and, when clang/gcc and libbpf-dev are here, a C program
calling libbpf's ``ring_buffer__poll`` (written and built in a temporary
directory by this script).  Lost records are counted by the program itself
(a :class:`~purebpf.events.DropCounter`); the kernel keeps no such count.
Figures are medians over --runs runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from purebpf.events import DropCounter, RingBuffer  # noqa: E402
from purebpf.maps import Map, MapType  # noqa: E402
from tests.events.progs import burst_prog, run_repeat  # noqa: E402

RECORD = 64
SEQ = struct.Struct("<Q")
DECODE = struct.Struct(f"<Q{RECORD - 8}x")

PEER_C = r"""
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static unsigned long long count, last;

static int handle(void *ctx, void *data, size_t size)
{
    last = *(uint64_t *)data;
    count++;
    return 0;
}

int main(int argc, char **argv)
{
    struct ring_buffer *rb = ring_buffer__new(atoi(argv[1]), handle, NULL, NULL);
    if (!rb) {
        perror("ring_buffer__new");
        return 1;
    }
    if (argc > 2) { /* drain: time one pass over a full ring */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int n = ring_buffer__consume(rb);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%d %.9f\n", n, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        return 0;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int err = ring_buffer__poll(rb, 50);
        if (err < 0 && err != -EINTR) {
            fprintf(stderr, "ring_buffer__poll: %d\n", err);
            return 1;
        }
        struct pollfd stop = { .fd = 0, .events = POLLIN };
        char c;
        if (poll(&stop, 1, 0) > 0 && read(0, &c, 1) <= 0)
            break;
    }
    ring_buffer__consume(rb);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("%llu %llu %.9f %.6f\n", count, last, ts.tv_sec + ts.tv_nsec / 1e9, cpu);
    ring_buffer__free(rb);
    return 0;
}
"""


@dataclass
class Result:
    delivered: int
    lost: int
    produced: int
    seconds: float
    cpu: float  # the reader's CPU seconds (user + system)

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds


class Bench:
    def __init__(self, ring_size: int) -> None:
        self.ring = Map(MapType.RINGBUF, 0, 0, ring_size, name="bench_rb")
        self.drops = DropCounter("bench_drops")
        self.seq = Map(MapType.ARRAY, 4, 8, 1, name="bench_seq")
        self.prog = burst_prog(self.ring, RECORD, self.drops, self.seq)

    def close(self) -> None:
        for obj in (self.prog, self.seq, self.drops, self.ring):
            obj.close()

    # -- producer (a child process: the kernel work must not share our GIL) --

    def _produce(self, seconds: float, rate: int | None) -> None:
        end = time.monotonic() + seconds
        if rate is None:
            while time.monotonic() < end:
                run_repeat(self.prog, 20000)
            return
        burst, tick = max(1, rate // 100), 0.01
        next_at = time.monotonic()
        while next_at < end:
            run_repeat(self.prog, burst)
            next_at += tick
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _start_producer(self, seconds: float, rate: int | None) -> multiprocessing.Process:
        self.seq[0] = 0
        self.drops.reset()
        proc = multiprocessing.get_context("fork").Process(target=self._produce, args=(seconds, rate))
        proc.start()
        return proc

    def _result(self, delivered: int, seconds: float, cpu: float) -> Result:
        return Result(delivered, self.drops.value, self.seq[0], seconds, cpu)

    # -- readers ---------------------------------------------------------------

    def python(self, mode: str, seconds: float, rate: int | None) -> Result:
        count = 0
        last = -1
        unpack = SEQ.unpack_from

        def callback(data: bytes) -> None:
            nonlocal count, last
            last = unpack(data)[0]
            count += 1

        with RingBuffer(self.ring, callback) as rb:
            cpu_start = time.process_time()
            start = time.monotonic()
            proc = self._start_producer(seconds, rate)
            while True:
                running = proc.is_alive()
                if mode == "callback":
                    rb.poll(50)
                else:
                    rb.wait(0.05)
                    batch = rb.consume_decoded(DECODE)
                    if batch:
                        count += len(batch)
                        last = batch[-1][0]
                if not running:
                    if mode == "callback":
                        rb.consume()
                    else:
                        count += len(rb.consume_decoded(DECODE))
                    break
            elapsed = time.monotonic() - start
            cpu = time.process_time() - cpu_start
            proc.join()
        return self._result(count, elapsed, cpu)

    def _fill(self) -> int:
        """Fill the ring with no reader; return how many records it holds."""
        self.seq[0] = 0
        self.drops.reset()
        run_repeat(self.prog, self.ring.max_entries // (RECORD + 8) + 1000)
        return self.seq[0] - self.drops.value

    def python_drain(self, mode: str) -> Result:
        count = 0

        def callback(data: bytes) -> None:
            nonlocal count
            SEQ.unpack_from(data)
            count += 1

        with RingBuffer(self.ring, callback) as rb:
            held = self._fill()
            cpu_start, start = time.process_time(), time.perf_counter()
            if mode == "callback":
                rb.consume()
            else:
                count = len(rb.consume_decoded(DECODE))
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if count != held:
            raise SystemExit(f"drain read {count} of {held} records")
        return Result(count, 0, count, elapsed, cpu)

    def libbpf_drain(self, binary: Path) -> Result:
        held = self._fill()
        done = subprocess.run([str(binary), str(self.ring.fd), "drain"], pass_fds=[self.ring.fd],
                              capture_output=True, text=True, timeout=30, check=True)
        count, seconds = done.stdout.split()
        if int(count) != held:
            raise SystemExit(f"libbpf drain read {count} of {held} records")
        return Result(held, 0, held, float(seconds), float(seconds))

    def libbpf(self, binary: Path, seconds: float, rate: int | None) -> Result:
        peer = subprocess.Popen([str(binary), str(self.ring.fd)], pass_fds=[self.ring.fd], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            if peer.stdout.readline().strip() != "ready":
                raise RuntimeError("the libbpf peer did not start")
            start = time.monotonic()
            proc = self._start_producer(seconds, rate)
            proc.join()
            out, _ = peer.communicate("", timeout=30)
        finally:
            if peer.poll() is None:
                peer.kill()
                peer.wait()
        count, _last, end, cpu = out.split()
        return self._result(int(count), float(end) - start, float(cpu))


def build_peer(workdir: Path) -> tuple[Path | None, str]:
    """Compile the libbpf consumer; (None, why) when this machine cannot."""
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None, "no C compiler"
    if not Path("/usr/include/bpf/libbpf.h").exists():
        return None, "libbpf-dev is not installed"
    src, binary = workdir / "peer.c", workdir / "rb_peer"
    src.write_text(PEER_C)
    done = subprocess.run([compiler, "-O2", "-o", str(binary), str(src), "-lbpf"], capture_output=True, text=True)
    if done.returncode:
        return None, f"build failed: {done.stderr.strip().splitlines()[-1:]}"
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libbpf-dev"], capture_output=True, text=True)
    return binary, f"libbpf {version.stdout.strip() or '?'}, {Path(compiler).name} -O2"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="producer time per run")
    ap.add_argument("--rate", type=int, default=200_000, help="paced workload, records/s")
    ap.add_argument("--ring-size", type=int, default=1 << 22, help="ring buffer bytes (power of 2)")
    ap.add_argument("--no-peer", action="store_true", help="skip the libbpf C consumer")
    args = ap.parse_args()

    bench = Bench(args.ring_size)
    workdir = Path(tempfile.mkdtemp(prefix="purebpf-rb-bench-"))
    try:
        binary, peer_note = (None, "skipped (--no-peer)") if args.no_peer else build_peer(workdir)
        readers: list[tuple[str, object, object]] = [
            ("purebpf callback (poll)", lambda s, r: bench.python("callback", s, r),
             lambda: bench.python_drain("callback")),
            ("purebpf batch decoded", lambda s, r: bench.python("decoded", s, r),
             lambda: bench.python_drain("decoded")),
        ]
        if binary is not None:
            readers.append(("libbpf ring_buffer__poll (C)", lambda s, r: bench.libbpf(binary, s, r),
                            lambda: bench.libbpf_drain(binary)))
        print(f"ring buffer {args.ring_size >> 10} KiB, {RECORD}-byte records, {args.runs} runs of "
              f"{args.seconds:g} s each, medians; kernel {os.uname().release}, Python {sys.version.split()[0]}")
        print(f"peer: {peer_note}\n")
        rows = []
        workloads = [("drain full", None), ("flat out", None), (f"paced {args.rate // 1000}k/s", args.rate)]
        for workload, rate in workloads:
            for name, reader, drain in readers:
                if workload == "drain full":
                    results = [drain() for _ in range(args.runs)]
                else:
                    results = [reader(args.seconds, rate) for _ in range(args.runs)]
                for r in results:
                    if r.delivered + r.lost != r.produced:
                        raise SystemExit(f"{name}: delivered {r.delivered} + lost {r.lost} != produced {r.produced}")
                rows.append((workload, name, statistics.median(r.rate for r in results),
                             statistics.median(r.produced / r.seconds for r in results),
                             statistics.median(100 * r.cpu / r.seconds for r in results),
                             sum(r.lost for r in results), sum(r.produced for r in results)))
        peer_rate = {w: rate for w, n, rate, *_ in rows if n.startswith("libbpf")}
        head = f"{'workload':<14} {'reader':<30} {'delivered/s':>12} {'produced/s':>12} {'reader CPU':>10} " \
               f"{'lost':>10} {'of':>11} {'vs libbpf':>9}"
        print(head)
        print("-" * len(head))
        for workload, name, rate, produced, cpu, lost, total in rows:
            ratio = f"{rate / peer_rate[workload]:.2f}x" if workload in peer_rate else "-"
            print(f"{workload:<14} {name:<30} {rate:>12,.0f} {produced:>12,.0f} {cpu:>9.0f}% "
                  f"{lost:>10,} {total:>11,} {ratio:>9}")
        print("\ndrain full: the ring is filled first, then one timed pass reads it (the reader's own cost); "
              "flat out:\nthe producer runs at full speed while the reader reads; paced: at --rate.")
        print("delivered/s: records the reader got per second of the run; lost: reserves that failed in the "
              "program\nbecause the ring was full (summed over the runs, of that many produced); reader CPU: "
              "its CPU time\nover the run's wall time; vs libbpf: delivered/s over libbpf's in the same workload.")
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
