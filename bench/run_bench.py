#!/usr/bin/env python3
"""``purebpf run`` against a C libbpf loader for the same objects, in the same run.

    sudo python3 bench/run_bench.py [--runs 5] [--events 200000] [--rates 25000,50000,100000,200000]

Objects are tests/bpf programs built here with clang; the C side is a small
libbpf program (open, set target_pid in .rodata, load, attach every program,
then optionally print the ring buffer / perf buffer records as JSON lines with
printf) and a workload, both built with gcc against libbpf-dev in a temporary
directory: nothing built is kept.

* load and attach: spawn -> "attached" on stderr, median of --runs; peak RSS
  is the child's ``ru_maxrss`` from ``wait4``.  ``purebpf run`` is timed from
  the interpreter's start, as a user sees it.
* events, flat out: a workload makes --events syscalls (getpid for the ring
  buffer object, openat for the perf buffer one) as fast as it can while the
  tool decodes and prints each record to a pipe; events/s is records printed
  / time from the first syscall to the last line read; lost = made - printed.
* events, paced: the workload makes the syscalls at each of --rates per second
  (1 ms bursts) for one second; lost must be 0 where the tool keeps up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from purebpf.elf import read_object  # noqa: E402

BPF_SRC = ROOT / "tests" / "bpf"
OBJECTS = ("execsnoop", "opensnoop", "getpidsnoop")

LOADER_C = r"""
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>

struct getpid_event { __u64 ts_ns; __u32 pid; __u32 seq; char comm[16]; };
struct open_event { __u64 ts_ns; __u32 pid; int flags; char comm[16]; char fname[64]; };

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int on_ring(void *ctx, void *data, size_t size)
{
    const struct getpid_event *e = data;
    (void)ctx; (void)size;
    printf("{\"ts_ns\": %llu, \"pid\": %u, \"seq\": %u, \"comm\": \"%s\"}\n",
           (unsigned long long)e->ts_ns, e->pid, e->seq, e->comm);
    return 0;
}

static void on_perf(void *ctx, int cpu, void *data, __u32 size)
{
    const struct open_event *e = data;
    (void)ctx; (void)cpu; (void)size;
    printf("{\"ts_ns\": %llu, \"pid\": %u, \"flags\": %d, \"comm\": \"%s\", \"fname\": \"%s\"}\n",
           (unsigned long long)e->ts_ns, e->pid, e->flags, e->comm, e->fname);
}

static void on_lost(void *ctx, int cpu, __u64 n) { (void)ctx; fprintf(stderr, "lost %llu on cpu %d\n", n, cpu); }

/* loader OBJ [PID_OFFSET PID [ring|perf MAP]] */
int main(int argc, char **argv)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
    struct bpf_program *prog;
    struct bpf_map *map;
    if (!obj) { fprintf(stderr, "open failed\n"); return 1; }
    if (argc > 3) {
        bpf_object__for_each_map(map, obj) {
            const char *name = bpf_map__name(map);
            size_t n = strlen(name), size;
            if (n > 7 && !strcmp(name + n - 7, ".rodata")) {
                char *data = (char *)bpf_map__initial_value(map, &size);
                __u32 pid = (__u32)atoi(argv[3]);
                memcpy(data + atoi(argv[2]), &pid, sizeof(pid));
            }
        }
    }
    if (bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
    bpf_object__for_each_program(prog, obj) {
        if (!bpf_program__attach(prog)) { fprintf(stderr, "attach failed\n"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "attached in %ld us\n", (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000);
    if (argc < 6)
        return 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int fd = bpf_object__find_map_fd_by_name(obj, argv[5]);
    if (!strcmp(argv[4], "ring")) {
        struct ring_buffer *rb = ring_buffer__new(fd, on_ring, NULL, NULL);
        while (!stop) { ring_buffer__poll(rb, 100); fflush(stdout); }
        ring_buffer__consume(rb);
    } else {
        struct perf_buffer *pb = perf_buffer__new(fd, 64, on_perf, on_lost, NULL, NULL);
        while (!stop) { perf_buffer__poll(pb, 100); fflush(stdout); }
        perf_buffer__consume(pb);
    }
    fflush(stdout);
    return 0;
}
"""

WORKLOAD_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* workload getpid|open N RATE(0: flat out) PATH: waits for a line on stdin first */
int main(int argc, char **argv)
{
    long n = atol(argv[2]), rate = atol(argv[3]), done = 0;
    int use_open = argv[1][0] == 'o';
    char line[8];
    struct timespec t0, now;
    if (!fgets(line, sizeof(line), stdin)) return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (done < n) {
        long burst = rate ? rate / 1000 : n;
        for (long i = 0; i < burst && done < n; i++, done++) {
            if (use_open) close(open(argv[4], O_RDONLY));
            else syscall(SYS_getpid);
        }
        if (rate) {  /* next 1 ms tick */
            long target_ns = (done / (rate / 1000)) * 1000000L;
            do clock_gettime(CLOCK_MONOTONIC, &now);
            while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < target_ns);
        }
    }
    return 0;
}
"""


@dataclass
class Built:
    objects: dict[str, str]
    loader: str
    workload: str


def build(tmp: Path) -> Built:
    for tool in ("clang", "gcc", "bpftool"):
        if not shutil.which(tool):
            sys.exit(f"run_bench: needs {tool}")
    with open(tmp / "vmlinux.h", "w") as f:
        subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], stdout=f,
                       check=True)
    objects = {}
    for name in OBJECTS:
        out = tmp / f"{name}.bpf.o"
        subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", f"-I{tmp}", "-c",
                        str(BPF_SRC / f"{name}.bpf.c"), "-o", str(out)], check=True)
        objects[name] = str(out)
    (tmp / "loader.c").write_text(LOADER_C)
    (tmp / "workload.c").write_text(WORKLOAD_C)
    subprocess.run(["gcc", "-O2", "-o", str(tmp / "loader"), str(tmp / "loader.c"), "-lbpf"], check=True)
    subprocess.run(["gcc", "-O2", "-o", str(tmp / "workload"), str(tmp / "workload.c")], check=True)
    return Built(objects, str(tmp / "loader"), str(tmp / "workload"))


def purebpf_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "purebpf", "run", *args]


def child_env(pycache: str) -> dict[str, str]:
    """As an installed purebpf runs: byte code cached (in our temporary directory), stdout buffered."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


ENV: dict[str, str] = {}


# -- load and attach ---------------------------------------------------------------------------


# what `purebpf run` does between its imports and "attached", timed inside the process
IN_PROCESS = """
import sys, time
from purebpf.elf import read_object
from purebpf.object import BPFObject
from purebpf.runner.options import object_options
from purebpf.elf.record_readers import EventReader, event_maps
t0 = time.perf_counter()
spec = read_object(sys.argv[1])
object_options(spec)
obj = BPFObject(spec)
obj.attach()
readers = [EventReader(obj, name, print) for name in event_maps(obj)]
print(f"attached in {(time.perf_counter() - t0) * 1e6:.0f} us", file=sys.stderr)
for r in readers:
    r.close()
obj.close()
"""


def time_to_attach(cmd: list[str]) -> tuple[float, float, float]:
    """(seconds from spawn to the "attached" line, seconds of open+load+attach the tool
    reports, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    elapsed = time.perf_counter() - start
    if "attached" not in line:
        raise RuntimeError(f"{cmd[0]}: {line}{proc.stderr.read()}")
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    inside = float(line.split()[2]) / 1e6 if line.startswith("attached in") else 0.0
    return elapsed, inside, usage.ru_maxrss / 1024


def bench_load(built: Built, runs: int) -> list[tuple]:
    rows = []
    for name, path in built.objects.items():
        py = [time_to_attach(purebpf_cmd(path, "--duration", "0.01")) for _ in range(runs)]
        inside = [time_to_attach([sys.executable, "-c", IN_PROCESS, path]) for _ in range(runs)]
        c = [time_to_attach([built.loader, path]) for _ in range(runs)]
        pt, pr = statistics.median(t for t, _, _ in py), statistics.median(r for _, _, r in py)
        pi = statistics.median(i for _, i, _ in inside)
        ct, ci, cr = (statistics.median(t for t, _, _ in c), statistics.median(i for _, i, _ in c),
                      statistics.median(r for _, _, r in c))
        rows.append((name, os.path.getsize(path) // 1024, pt * 1000, ct * 1000, pt / ct, pi * 1000, ci * 1000,
                     pi / ci, pr, cr, pr / cr))
    return rows


# -- events ------------------------------------------------------------------------------------


class LineCounter(threading.Thread):
    """Counts the lines a tool prints, and when the last one came."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream, self.lines, self.last = stream, 0, 0.0

    def run(self) -> None:
        fd = self.stream.fileno()
        while True:
            chunk = os.read(fd, 1 << 16)  # what is there now, not a full buffer
            if not chunk:
                return
            self.lines += chunk.count(b"\n")
            self.last = time.perf_counter()


def event_run(built: Built, tool: str, kind: str, n: int, rate: int) -> tuple[float, int]:
    """(records printed per second, records lost) for one workload run."""
    obj = built.objects["getpidsnoop" if kind == "ring" else "opensnoop"]
    map_name = "events"
    path = "/tmp/purebpf_run_bench_file"
    Path(path).touch()
    work = subprocess.Popen([built.workload, "getpid" if kind == "ring" else "open", str(n), str(rate), path],
                            stdin=subprocess.PIPE)
    try:
        if tool == "purebpf":
            cmd = purebpf_cmd(obj, "--target-pid", str(work.pid), "-j")
        else:
            var = read_object(obj).variable("target_pid")[1]
            cmd = [built.loader, obj, str(var.offset), str(work.pid), kind, map_name]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        counter = LineCounter(proc.stdout)
        if b"attached" not in proc.stderr.readline():
            raise RuntimeError(f"{tool}: {proc.stderr.read().decode()}")
        counter.start()
        start = time.perf_counter()
        work.stdin.write(b"go\n")
        work.stdin.close()
        work.wait()
        while True:  # until the tool has printed everything or goes quiet for a second
            seen = counter.lines
            time.sleep(1.0)
            if counter.lines == seen:
                break
        proc.terminate()
        proc.wait(timeout=30)
        counter.join(timeout=30)
        elapsed = max(counter.last - start, 1e-6)
        return counter.lines / elapsed, n - counter.lines
    finally:
        if work.poll() is None:
            work.kill()


def bench_events(built: Built, runs: int, n: int, rates: list[int]) -> tuple[list[tuple], list[tuple]]:
    flat, paced = [], []
    for kind in ("ring", "perf"):
        got = {tool: [event_run(built, tool, kind, n, 0) for _ in range(runs)] for tool in ("purebpf", "libbpf")}
        med = {tool: (statistics.median(r for r, _ in v), statistics.median(lost for _, lost in v))
               for tool, v in got.items()}
        flat.append((kind, n, med["purebpf"][0], med["purebpf"][1], med["libbpf"][0], med["libbpf"][1],
                     med["purebpf"][0] / med["libbpf"][0]))
        for rate in rates:
            lost = {tool: max(event_run(built, tool, kind, rate, rate)[1] for _ in range(max(1, runs // 2)))
                    for tool in ("purebpf", "libbpf")}
            paced.append((kind, rate, lost["purebpf"], lost["libbpf"]))
    return flat, paced


# -- report ------------------------------------------------------------------------------------


def table(title: str, header: list[str], rows: list[tuple], fmt: list[str]) -> None:
    cells = [header] + [[f.format(v) for f, v in zip(fmt, row, strict=True)] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rates", default="25000,50000,100000,200000")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run_bench: needs root")
    rates = [int(r) for r in args.rates.split(",") if r]
    with tempfile.TemporaryDirectory(prefix="purebpf-run-bench-") as tmp:
        built = build(Path(tmp))
        ENV.update(child_env(os.path.join(tmp, "pycache")))
        time_to_attach(purebpf_cmd(built.objects["getpidsnoop"], "--duration", "0.01"))  # write the byte code
        load = bench_load(built, args.runs)
        flat, paced = bench_events(built, args.runs, args.events, rates)
    print(f"purebpf run vs a C libbpf loader (libbpf-dev), medians of {args.runs} runs; "
          f"kernel {os.uname().release}")
    table("Load and attach: spawn to attached (interpreter and imports included), open+load+attach inside the "
          "process, peak RSS",
          ["object", "KiB", "spawn purebpf ms", "spawn libbpf ms", "ratio", "load purebpf ms", "load libbpf ms",
           "ratio", "purebpf MB", "libbpf MB", "ratio"], load,
          ["{}", "{}", "{:.1f}", "{:.1f}", "{:.2f}x", "{:.1f}", "{:.1f}", "{:.2f}x", "{:.1f}", "{:.1f}", "{:.2f}x"])
    table(f"Events decoded and printed as JSON lines, flat out ({args.events} syscalls)",
          ["buffer", "events", "purebpf ev/s", "purebpf lost", "libbpf ev/s", "libbpf lost", "ratio"], flat,
          ["{}", "{}", "{:,.0f}", "{:.0f}", "{:,.0f}", "{:.0f}", "{:.2f}x"])
    table("Events paced for one second: records lost (worst run)",
          ["buffer", "rate/s", "purebpf lost", "libbpf lost"], paced, ["{}", "{:,}", "{}", "{}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
