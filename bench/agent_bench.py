#!/usr/bin/env python3
"""The agent's own cost, and what it costs the traced workload, against
bpftrace running the same aggregation scripts.

    sudo python3 bench/agent_bench.py [--runs 3] [--seconds 5] [--rate 200000]

Tracers compared, each with every default probe on:

* purebpf agent: ``python -m purebpf agent`` with its default configuration,
  scraped every --scrape-every seconds as a Prometheus server would;
  and again with the syscalls probe's latency histogram off (``latency:
  false``: sys_exit only, no per-thread start time), the cheapest setting.
* bpftrace: one bpftrace 0.17 process per probe running that probe's program
  (the agent's probes are written in the bpftrace language, so the scripts are
  the very same text), plus ``profile:hz:49 { @[kstack, ustack, comm] = count(); }``
  for the CPU profile.  bpftrace prints its maps only at exit, so it does no
  periodic reading: its user-space cost is a floor the agent cannot reach.

Measurements (each a median over --runs):

* idle: tracer CPU (% of one core) and RSS over --seconds with no load.
* paced load: a Python loop making --rate getppid() calls a second for
  --seconds; tracer CPU and RSS meanwhile (the in-kernel cost of the probes is
  charged to the workload, not to the tracer).
* slowdown: wall time of ``dd if=/dev/zero of=/dev/null bs=1 count=N`` (two
  system calls a byte, at C speed) with the tracer on versus off.

``--per-event`` measures instead what the syscalls probe costs per event: the
kernel's own run-time statistics (``BPF_ENABLE_STATS``: run_time_ns / run_cnt
of each program, which include the two clock reads the statistics add) during
one dd run, and the dd slowdown with statistics off, for the agent's programs,
the bpftrace-language script the agent used before (run by purebpf's trace
compiler and by bpftrace 0.17), and an empty program pair (the floor: enabling
the syscall tracepoints sends every system call through the kernel's slow path).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")
PORT = 19435
PACER = """
import os, sys, time
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
batch = rate // 100
start = time.monotonic()
done = 0
while True:
    now = time.monotonic()
    if now - start >= seconds:
        break
    for _ in range(batch):
        os.getppid()
    done += batch
    ahead = start + done / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
print(done / (time.monotonic() - start))
"""


# what the syscalls probe ran before it was assembled by hand, and what bpftrace runs for it
SYSCALLS_SCRIPT = """
tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ {
  $d = nsecs - @start[tid];
  delete(@start[tid]);
  @lat[comm, args->id] = hist($d); @lat_ns[comm, args->id] = sum($d);
  if (args->ret < 0) { @err[comm, args->id, -args->ret] = count(); }
}
tracepoint:sched:sched_process_exit { delete(@start[tid]); }
"""
EMPTY_SCRIPT = "rawtracepoint:sys_enter { } rawtracepoint:sys_exit { }"


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return total


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) * 1024
        except (OSError, StopIteration):
            continue
    return total


class Tracer:
    name = ""

    def start(self) -> None: ...
    def pids(self) -> list[int]: ...
    def tick(self) -> None: ...
    def stop(self) -> None: ...


class Agent(Tracer):
    def __init__(self, scrape_every: float, latency: bool = True) -> None:
        self.scrape_every = scrape_every
        self.latency = latency
        self.last = 0.0
        self.name = "purebpf agent" + ("" if latency else " (syscall latency off)")

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log = tempfile.TemporaryFile()
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml")
        self.config.write(f"listen: 127.0.0.1:{PORT}\nprobes: {{syscalls: {{latency: {str(self.latency).lower()}}}}}\n")
        self.config.flush()
        self.proc = subprocess.Popen([sys.executable, "-m", "purebpf", "agent", "--config", self.config.name],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.tick()
                self.log.seek(0)
                if b"serving http" in self.log.read():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the agent did not start")

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def tick(self) -> None:
        if time.monotonic() - self.last < self.scrape_every:
            return
        self.last = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as r:
            r.read()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.config.close()


class Bpftrace(Tracer):
    name = "bpftrace 0.17"

    def start(self) -> None:
        from purebpf.agent import default_config
        from purebpf.agent.probes import PROBES, ProbeContext
        cfg = default_config()
        scripts = [PROBES[n](pc.params, cfg.filters, ProbeContext()).source()
                   for n, pc in cfg.probes.items() if pc.enabled and n not in ("profile", "syscalls")]
        scripts.append(SYSCALLS_SCRIPT)
        scripts.append("profile:hz:49 { @[kstack, ustack, comm] = count(); }")
        self.procs = [subprocess.Popen(["bpftrace", "-e", s], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                      for s in scripts]
        time.sleep(8)  # bpftrace compiles with LLVM at start
        for p in self.procs:
            if p.poll() is not None:
                raise SystemExit(f"bpftrace failed: {p.stderr.read().decode()}")  # type: ignore[union-attr]

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@dataclass
class Cost:
    cpu: float  # % of one core
    rss: int
    rate: float = 0.0


def measure(tracer: Tracer, seconds: float, load: list[str] | None) -> Cost:
    pids = tracer.pids()
    t0, c0 = time.monotonic(), cpu_ticks(pids)
    child = subprocess.Popen(load, stdout=subprocess.PIPE, text=True) if load else None
    peak = 0
    while time.monotonic() - t0 < seconds:
        tracer.tick()
        peak = max(peak, rss(pids))
        time.sleep(1)
    rate = float(child.communicate()[0]) if child else 0.0
    elapsed = time.monotonic() - t0
    return Cost(100.0 * (cpu_ticks(pids) - c0) / TICK / elapsed, peak, rate)


def dd_seconds(count: int) -> float:
    t = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"], check=True,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


class Loaded:
    """Programs loaded in this process or by a bpftrace child, measured through their ids."""

    def __init__(self, kind: str, arg: object = None) -> None:
        self.kind, self.arg = kind, arg

    def __enter__(self) -> Loaded:
        from purebpf.sys.objects import iter_ids
        before = set(iter_ids("prog"))
        if self.kind == "agent":
            from purebpf.agent.config import Filters
            from purebpf.agent.filters import CgroupNames
            from purebpf.agent.probes import ProbeContext
            from purebpf.agent.probes.syscalls import SyscallsProbe
            latency, cgroups = self.arg  # type: ignore[misc]
            self.obj = SyscallsProbe({"latency": latency}, Filters(),
                                     ProbeContext(cgroups=CgroupNames() if cgroups else None))
            self.obj.start()
        elif self.kind == "trace":
            import io

            from purebpf.trace.compiler import compile_program
            from purebpf.trace.runtime import Tracer
            self.obj = Tracer(compile_program(str(self.arg)), out=io.StringIO())
            self.obj.load()
            self.obj.attach()
        else:
            self.obj = subprocess.Popen(["bpftrace", "-e", str(self.arg)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            while not self._new(before) and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(2)  # every probe attached
        self.ids = self._new(before)
        return self

    @staticmethod
    def _new(before: set[int]) -> list[int]:
        from purebpf.sys.objects import iter_ids
        return sorted(set(iter_ids("prog")) - before)

    def stats(self) -> dict[int, tuple[str, int, int]]:
        from purebpf.errors import NotFoundError
        from purebpf.programs.info import program_info
        from purebpf.sys import FD
        from purebpf.sys.objects import fd_by_id
        out = {}
        for pid in self.ids:
            try:
                fd = FD(fd_by_id("prog", pid))
            except NotFoundError:  # another process's program, unloaded since
                continue
            try:
                info = program_info(fd.raw)
            finally:
                fd.close()
            out[pid] = (info.name, info.run_cnt, info.run_time_ns)
        return out

    def __exit__(self, *exc: object) -> None:
        if self.kind == "agent":
            self.obj.stop()
        elif self.kind == "trace":
            self.obj.close()
        else:
            self.obj.send_signal(signal.SIGINT)
            self.obj.wait(timeout=60)


def per_event(args: argparse.Namespace) -> None:
    from purebpf.programs import enable_stats
    cases = [("agent syscalls probe (cgroup labels on)", "agent", (True, True)),
             ("agent syscalls probe (cgroup labels off)", "agent", (True, False)),
             ("agent syscalls probe, latency: false", "agent", (False, True)),
             ("previous bpftrace-language script, purebpf trace", "trace", SYSCALLS_SCRIPT),
             ("empty raw_tp sys_enter + sys_exit (the floor)", "trace", EMPTY_SCRIPT)]
    if shutil.which("bpftrace"):
        cases.insert(4, ("previous script, bpftrace 0.17", "bpftrace", SYSCALLS_SCRIPT))
    rows = []
    for title, kind, arg in cases:
        before = [dd_seconds(args.dd_bytes) for _ in range(args.runs)]
        with Loaded(kind, arg) as loaded:
            traced = statistics.median(dd_seconds(args.dd_bytes) for _ in range(args.runs))
            with enable_stats():
                s0 = loaded.stats()
                dd_seconds(args.dd_bytes)
                s1 = loaded.stats()
        base = statistics.median(before + [dd_seconds(args.dd_bytes) for _ in range(args.runs)])
        progs = [(s1[i][0], (s1[i][2] - s0[i][2]) / (s1[i][1] - s0[i][1]))
                 for i in s1 if i in s0 and s1[i][1] - s0[i][1] > args.dd_bytes]  # the per-syscall programs
        rows.append((title, progs, base, traced))
    print(f"\nper-event cost: dd bs=1 count={args.dd_bytes} ({2 * args.dd_bytes} syscalls); ns/run from "
          f"BPF_ENABLE_STATS (includes its own two clock reads); dd medians of {args.runs} runs\n")
    print("| programs | ns/run (per program) | dd untraced (s) | dd traced (s) | added per syscall (ns) | slowdown |")
    print("|---|---|---|---|---|---|")
    for title, progs, base, traced in rows:
        per = ", ".join(f"{name} {ns:.0f}" for name, ns in progs)
        print(f"| {title} | {per} | {base:.3f} | {traced:.3f} | {(traced - base) / (2 * args.dd_bytes) * 1e9:.0f} "
              f"| {100 * (traced / base - 1):+.1f}% |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--scrape-every", type=float, default=5.0, help="agent scrape interval (seconds)")
    ap.add_argument("--rate", type=int, default=200_000)
    ap.add_argument("--dd-bytes", type=int, default=1_000_000)
    ap.add_argument("--per-event", action="store_true", help="the syscalls probe's in-kernel cost per event")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    if args.per_event:
        per_event(args)
        return
    load = [sys.executable, "-c", PACER, str(args.rate), str(args.seconds)]
    tracers: list[Tracer] = [Agent(args.scrape_every), Agent(args.scrape_every, latency=False)]
    if shutil.which("bpftrace"):
        tracers.append(Bpftrace())
    rows = []
    for tracer in tracers:
        # the untraced baseline next to each traced run: a shared machine's load drifts
        before = [dd_seconds(args.dd_bytes) for _ in range(args.runs)]
        tracer.start()
        try:
            idle = [measure(tracer, args.seconds, None) for _ in range(args.runs)]
            busy = [measure(tracer, args.seconds, load) for _ in range(args.runs)]
            traced = statistics.median(dd_seconds(args.dd_bytes) for _ in range(args.runs))
        finally:
            tracer.stop()
        base = statistics.median(before + [dd_seconds(args.dd_bytes) for _ in range(args.runs)])
        rows.append((tracer.name, base, statistics.median(c.cpu for c in idle), max(c.rss for c in idle),
                     statistics.median(c.cpu for c in busy), max(c.rss for c in busy),
                     statistics.median(c.rate for c in busy), traced))
    print(f"\nsyscall slowdown: dd bs=1 count={args.dd_bytes} ({2 * args.dd_bytes} syscalls) traced against "
          f"untraced just before and after; paced load target {args.rate} syscalls/s; agent scraped every "
          f"{args.scrape_every:g} s; windows of {args.seconds:g} s; medians of {args.runs} runs\n")
    print("| tracer | idle CPU (% core) | idle RSS (MB) | CPU under load (% core) | RSS under load (MB) "
          "| load achieved (calls/s) | dd untraced (s) | dd traced (s) | slowdown |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, base, icpu, irss, bcpu, brss, rate, traced in rows:
        print(f"| {name} | {icpu:.2f} | {irss / 1e6:.1f} | {bcpu:.2f} | {brss / 1e6:.1f} | {rate:,.0f} "
              f"| {base:.3f} | {traced:.3f} | {100 * (traced / base - 1):+.1f}% |")


if __name__ == "__main__":
    main()
