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
                   for n, pc in cfg.probes.items() if pc.enabled and n != "profile"]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--scrape-every", type=float, default=5.0, help="agent scrape interval (seconds)")
    ap.add_argument("--rate", type=int, default=200_000)
    ap.add_argument("--dd-bytes", type=int, default=1_000_000)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
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
