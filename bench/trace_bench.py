#!/usr/bin/env python3
"""``purebpf trace`` against ``bpftrace``: start-up, memory and event throughput, same programs, same run.

    sudo python3 bench/trace_bench.py [--runs 5] [--events 100000]

Start-up is the wall time from starting the command to the first of two
lines: ``__BPFTRACE_NOTIFY_PROBES_ATTACHED`` (printed once probes are attached
when that variable is 1 in the environment) or ``ready`` from a ``BEGIN``
probe added to each program (BEGIN runs once everything is attached; bpftrace
0.17 prints the notify line only when its stdout is not a pipe); the tool is then sent
SIGTERM and its peak RSS read from ``wait4``'s rusage.  Three programs: a
tracepoint count, a histogram, a printf.  Figures are medians of --runs runs;
ratios are purebpf / bpftrace (below 1 is better for purebpf).

Throughput: a workload process makes --events ``getppid`` calls as fast as it
can while the tool prints one line per call (``printf`` of pid and comm); the
figure is lines received per second from the first call to the last line, and
how many were lost.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"
PROGRAMS = {
    "tracepoint count": "tracepoint:syscalls:sys_enter_read { @[comm] = count(); }",
    "hist": "tracepoint:syscalls:sys_exit_openat { @ret = hist(args->ret); }",
    "printf": 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
}
WORKLOAD = ("import os, sys\nsys.stdin.readline()\nfor _ in range(int(sys.argv[1])):\n    os.getppid()\n")


@dataclass
class Sample:
    startup_s: float
    rss_kib: int


def commands() -> dict[str, list[str]]:
    tools = {"purebpf trace": [sys.executable, "-m", "purebpf", "trace", "-B", "line"]}
    if shutil.which("bpftrace"):
        tools["bpftrace"] = ["bpftrace", "-B", "line"]  # line-buffered: the notify line arrives at once
    return tools


def _env() -> dict[str, str]:
    return dict(os.environ, **{NOTIFY: "1", "PYTHONPATH": str(ROOT)})


def _read_until(fd: int, marks: tuple[bytes, ...], timeout: float) -> tuple[bool, bytes]:
    """Read ``fd`` until a line equal to one of ``marks`` (True) or ``timeout`` seconds (False)."""
    buf, deadline = b"", time.perf_counter() + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False, buf
        chunk = os.read(fd, 65536)
        if not chunk:
            return False, buf
        buf += chunk
        if any(m + b"\n" in buf for m in marks):
            return True, buf


def _stop(proc: subprocess.Popen) -> int:
    """SIGTERM (both tools print their maps and exit), SIGKILL after 5 s; returns peak RSS in KiB."""
    proc.send_signal(signal.SIGTERM)
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline:
        pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = 0
            return usage.ru_maxrss
        if proc.stdout is not None and select.select([proc.stdout], [], [], 0.05)[0]:
            os.read(proc.stdout.fileno(), 65536)
    proc.kill()
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = -9
    return usage.ru_maxrss


def measure_startup(cmd: list[str], program: str) -> Sample | None:
    """One run; None when the tool did not attach within 15 s (bpftrace 0.17 sometimes stalls)."""
    program = 'BEGIN { printf("ready\\n"); } ' + program
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, "-e", program], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
    assert proc.stdout is not None
    ok, _ = _read_until(proc.stdout.fileno(), (NOTIFY.encode(), b"ready"), 15)
    attached = time.perf_counter() - start
    rss = _stop(proc)
    return Sample(attached, rss) if ok else None


def measure_events(cmd: list[str], events: int) -> tuple[float, int]:
    """(events per second, events lost) for one printf per getppid call of the workload."""
    worker = subprocess.Popen([sys.executable, "-c", WORKLOAD, str(events)], stdin=subprocess.PIPE)
    program = ('BEGIN { printf("ready\\n"); } '
               f"tracepoint:syscalls:sys_enter_getppid /pid == {worker.pid}/ "
               '{ printf("%d %s\\n", pid, comm); }')
    tool = subprocess.Popen([*cmd, "-e", program], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
    assert tool.stdout is not None and worker.stdin is not None
    fd = tool.stdout.fileno()
    buf = b""
    while b"ready\n" not in buf:
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError(f"{cmd[0]} exited before attaching")
        buf += chunk
    buf = buf.split(b"ready\n", 1)[1]
    start = time.perf_counter()
    worker.stdin.write(b"go\n")
    worker.stdin.flush()
    received, last = buf.count(b"\n"), start
    while received < events:
        ready, _, _ = select.select([fd], [], [], 2.0)
        if not ready:
            break  # nothing for 2 s: the rest was lost
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        received += chunk.count(b"\n")
        last = time.perf_counter()
    worker.wait()
    _stop(tool)
    return received / max(last - start, 1e-9), max(events - received, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: both tools load BPF programs", file=sys.stderr)
        return 1
    tools = commands()
    print(f"start-up to probes attached and peak RSS, median of {args.runs} runs")
    print(f"{'program':<18} {'tool':<14} {'start-up':>10} {'peak RSS':>11}")
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for label, program in PROGRAMS.items():
        for tool, cmd in tools.items():
            runs = [measure_startup(cmd, program) for _ in range(args.runs)]
            samples = [r for r in runs if r is not None]
            if len(samples) < len(runs):
                print(f"  ({tool}: {len(runs) - len(samples)} of {len(runs)} runs did not attach within 15 s)")
            if not samples:
                continue
            startup = statistics.median(s.startup_s for s in samples)
            rss = statistics.median(s.rss_kib for s in samples) / 1024
            medians[label, tool] = (startup, rss)
            print(f"{label:<18} {tool:<14} {startup * 1000:>8.0f} ms {rss:>7.1f} MiB")
        if (label, "bpftrace") in medians and (label, "purebpf trace") in medians:
            (s1, r1), (s2, r2) = medians[label, "purebpf trace"], medians[label, "bpftrace"]
            print(f"{label:<18} {'ratio':<14} {s1 / s2:>10.2f}x {r1 / r2:>9.2f}x")
    print(f"\nprintf throughput: {args.events} getppid calls, one printf line each, median of 3 runs")
    print(f"{'tool':<14} {'events/s':>12} {'lost':>8}")
    rates = {}
    for tool, cmd in tools.items():
        results = [measure_events(cmd, args.events) for _ in range(3)]
        rate = statistics.median(r for r, _ in results)
        lost = statistics.median(lost for _, lost in results)
        rates[tool] = rate
        print(f"{tool:<14} {rate:>12,.0f} {lost:>8.0f}")
    if "bpftrace" in rates:
        print(f"{'ratio':<14} {rates['purebpf trace'] / rates['bpftrace']:>11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
