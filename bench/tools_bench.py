#!/usr/bin/env python3
"""purebpf's ready tools against the libbpf-tools binaries: start-up time, RSS
and events/s for execsnoop, opensnoop and runqlat on the same workloads.

    sudo python3 bench/tools_bench.py [--runs 5] [--rate 50000] [--events 100000]

Measurements (medians over --runs; each run starts fresh processes):

* start-up: wall time from spawning the tool to its first line of output,
  which both print once their probes are attached (libbpf-tools run under
  ``stdbuf -oL`` so the line is not held in a buffer).  purebpf runs with its
  bytecode cached (in a temporary PYTHONPYCACHEPREFIX, warmed by one run), as
  an installed package has it, even where PYTHONDONTWRITEBYTECODE is set.
  ``--purebpf CMD`` runs CMD (e.g. a fresh venv's ``purebpf`` console script,
  as a pip user gets it) instead of this interpreter's ``-m purebpf``; this
  tree comes first on PYTHONPATH either way.
* RSS: the tool's VmHWM (peak resident set) after the load, from /proc.
* events: the workload (tests/tools/workload.c, built with gcc) makes a known
  number of events; both tools run at once and each row says how many it
  printed or counted, how fast the events came, and how many were lost.
  opensnoop: --events opens paced at --rate a second, then the same unpaced
  (as fast as one CPU opens a file); execsnoop: 2000 fork+execs as fast as
  they go; runqlat: 20000 usleep(1) wakeups of one process (-p), as counts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK_SRC = ROOT / "tests" / "tools" / "workload.c"
HIST_ROW = re.compile(r"^\s*\d+ -> \d+\s*: (\d+)\s*\|", re.M)


@dataclass
class Sample:
    startup: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)


def build_workload(tmp: Path) -> str:
    out = tmp / "pbtoolwork"
    subprocess.run(["gcc", "-O2", "-o", str(out), str(WORK_SRC)], check=True)
    return str(out)


def spawn(argv: list[str], out: Path, env: dict | None = None) -> tuple[subprocess.Popen, float]:
    """Start a tool writing to the file ``out`` (a pipe nobody drains would
    stall it); return it and its start-up time (to its first full line)."""
    with open(out, "w") as f:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.DEVNULL, env=env)
    while b"\n" not in out.read_bytes():
        if proc.poll() is not None:
            raise RuntimeError(f"{argv} ended without output")
        time.sleep(0.0005)
    return proc, time.monotonic() - t0


def finish(proc: subprocess.Popen, out: Path) -> tuple[str, float]:
    rss = peak_rss_mb(proc.pid)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    return out.read_text(errors="replace"), rss


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


PUREBPF = [sys.executable, "-m", "purebpf"]  # --purebpf replaces it


def ours(tool: str, *args: str) -> list[str]:
    return [*PUREBPF, tool, *args]


def theirs(tool: str, *args: str) -> list[str]:
    return ["stdbuf", "-oL", shutil.which(tool) or f"/usr/sbin/{tool}", *args]


def run_pair(tool: str, flags: list[str], load: list[str], count, samples: dict[str, Sample], tmp: Path,
             paced_pid: bool = False) -> None:
    """Both tools at once on one load; ``count(output, pid)`` says how many events each saw."""
    env = python_env(tmp)
    target = None
    extra: list[str] = []
    if paced_pid:  # the load's PID must be known first: sh waits for a line, then execs it
        target = subprocess.Popen(["/bin/sh", "-c", 'read x; exec "$@"', "sh", *load], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL)
        extra = ["-p", str(target.pid)]
    procs = {}
    for name, argv in (("libbpf-tools", theirs(tool, *flags, *extra)), ("purebpf", ours(tool, *flags, *extra))):
        proc, startup = spawn(argv, tmp / f"{name}.out", env)
        procs[name] = proc
        samples[name].startup.append(startup)
    t0 = time.monotonic()
    if target is not None:
        target.communicate(b"\n", timeout=300)
        pid = target.pid
    else:
        subprocess.run(load, stdout=subprocess.DEVNULL, check=True, timeout=300)
        pid = 0
    elapsed = time.monotonic() - t0
    time.sleep(1.0)  # let both drain
    for name, proc in procs.items():
        out, rss = finish(proc, tmp / f"{name}.out")
        samples[name].rss_mb.append(rss)
        n = count(out, pid)
        samples[name].seen.append(n)
        samples[name].rate.append(n / elapsed)


def python_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_bytecode(tmp: Path) -> None:
    """One run of each tool's -h writes the bytecode cache the measured runs read."""
    for tool in ("opensnoop", "execsnoop", "runqlat"):
        subprocess.run(ours(tool, "-h"), env=python_env(tmp), stdout=subprocess.DEVNULL, check=True)


def table(title: str, expected: int, samples: dict[str, Sample]) -> list[str]:
    c, p = samples["libbpf-tools"], samples["purebpf"]
    med = statistics.median
    rows = [f"### {title}", "", "| | libbpf-tools | purebpf | ratio |", "| --- | ---: | ---: | ---: |"]
    rows.append(f"| start-up (s) | {med(c.startup):.3f} | {med(p.startup):.3f} | "
                f"{med(p.startup) / med(c.startup):.2f}x |")
    rows.append(f"| peak RSS (MB) | {med(c.rss_mb):.1f} | {med(p.rss_mb):.1f} | {med(p.rss_mb) / med(c.rss_mb):.2f}x |")
    rows.append(f"| events seen (of {expected}) | {med(c.seen):.0f} | {med(p.seen):.0f} | |")
    rows.append(f"| workload events/s (both tools attached) | {med(c.rate):,.0f} | {med(p.rate):,.0f} | |")
    rows.append(f"| missing (worst run) | {max(0, expected - min(c.seen))} | {max(0, expected - min(p.seen))} | |")
    return rows + [""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rate", type=int, default=50_000, help="paced opens a second")
    ap.add_argument("--events", type=int, default=100_000, help="opens per run")
    ap.add_argument("--purebpf", metavar="CMD", help="the purebpf command, e.g. a venv's console script")
    args = ap.parse_args()
    if args.purebpf:
        PUREBPF[:] = [args.purebpf]
    if os.geteuid() != 0:
        print("tools_bench needs root", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = build_workload(Path(tmp))
        warm_bytecode(Path(tmp))
        target = Path(tmp) / "bench-open-target"
        target.write_text("x")
        comm = "pbtoolwork"

        def opens(out: str, _pid: int) -> int:
            return sum(1 for line in out.splitlines() if line.endswith(" " + str(target)) and comm in line)

        def execs(out: str, _pid: int) -> int:
            return sum(1 for line in out.splitlines() if line.split()[:1] == ["true"])

        def wakeups(out: str, _pid: int) -> int:
            return sum(int(n) for n in HIST_ROW.findall(out))

        via = f" --purebpf {args.purebpf}" if args.purebpf else ""
        print(f"Median of {args.runs} runs; `python3 bench/tools_bench.py --runs {args.runs} --rate {args.rate} "
              f"--events {args.events}{via}`.\n", flush=True)
        cases = [
            (f"opensnoop, {args.events} opens paced at {args.rate}/s", "opensnoop", ["-n", comm],
             [work, "openrate", str(args.events), str(args.rate), str(target)], opens, args.events, False),
            (f"opensnoop, {args.events} opens unpaced", "opensnoop", ["-n", comm],
             [work, "open", str(args.events), str(target), "0"], opens, args.events, False),
            ("execsnoop, 2000 execs of /bin/true", "execsnoop", [],
             [work, "exec", "2000", "/bin/true"], execs, 2000, False),
            ("runqlat -p, 20000 wakeups", "runqlat", [], [work, "sleep", "20000", "1"], wakeups, 20000, True),
        ]
        for title, tool, flags, load, count, expected, by_pid in cases:
            samples = {"libbpf-tools": Sample(), "purebpf": Sample()}
            for _ in range(args.runs):
                run_pair(tool, flags, load, count, samples, Path(tmp), paced_pid=by_pid)
            print("\n".join(table(title, expected, samples)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
