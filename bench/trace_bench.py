#!/usr/bin/env python3
"""``purebpf trace`` against ``bpftrace``: start-up, memory and event throughput, same programs, same run.

    sudo python3 bench/trace_bench.py [--runs 5] [--events 100000]

Start-up is measured the same way for both tools, by what a user waits for:

* ``BEGIN { exit(); }``: wall time from spawning the tool to its exit.
* first event: a background process calls ``getppid`` in a loop; the program
  ``tracepoint:syscalls:sys_enter_getppid /pid == W/ { printf("hit\\n"); exit(); }``
  prints on the first call it sees, so the time from spawning the tool to the
  ``hit`` line is start-up plus attach (the time to its exit is also shown).
  Neither tool's own "attached" message is used: bpftrace 0.17 runs ``BEGIN``
  before its other probes are attached and prints no notify line on a pipe.
* 3-probe histogram: ``getppid`` latency as a ``hist()`` from an enter and an
  exit tracepoint, and a third probe that exits after 1000 calls; wall time to
  exit, so detaching and printing the maps count too.

purebpf runs with its bytecode cached (a temporary PYTHONPYCACHEPREFIX, warmed
by one run), as an installed package has it, even where PYTHONDONTWRITEBYTECODE
is set.  Peak RSS is read from ``wait4``'s rusage.  Figures are medians of
--runs runs; ratios are purebpf / bpftrace (below 1 is better for purebpf).

Throughput: a workload process makes --events ``getppid`` calls as fast as it
can while the tool prints one line per call (``printf`` of pid and comm); the
figure is lines received per second from the first call to the last line, and
how many were lost.
"""

from __future__ import annotations

import argparse
import atexit
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ("import os, sys\nsys.stdin.readline()\nfor _ in range(int(sys.argv[1])):\n    os.getppid()\n")
SPINNER = "import os\nwhile True:\n    os.getppid()\n"  # the background caller the start-up programs wait for
# label -> (program, what ends the measure: "exit" or the line to wait for); $1 is the spinner's pid
STARTUP = {
    "BEGIN exit": ("BEGIN { exit(); }", "exit"),
    "first event": ('tracepoint:syscalls:sys_enter_getppid /pid == $1/ { printf("hit\\n"); exit(); }', "hit"),
    "3-probe hist": ("tracepoint:syscalls:sys_enter_getppid /pid == $1/ { @start[tid] = nsecs; }\n"
                     "tracepoint:syscalls:sys_exit_getppid /@start[tid]/ "
                     "{ @ns = hist(nsecs - @start[tid]); delete(@start[tid]); @n++; }\n"
                     "tracepoint:syscalls:sys_enter_getppid /@n >= 1000/ { exit(); }", "exit"),
}


@dataclass
class Sample:
    first_line_s: float | None  # to the awaited line (None: measured to exit only)
    exit_s: float
    rss_kib: int


def commands(purebpf: list[str]) -> dict[str, list[str]]:
    tools = {"purebpf trace": [*purebpf, "trace", "-B", "line"]}
    if shutil.which("bpftrace"):
        tools["bpftrace"] = ["bpftrace", "-B", "line"]
    return tools


_PYCACHE = tempfile.mkdtemp(prefix="trace-bench-pyc-")
atexit.register(shutil.rmtree, _PYCACHE, ignore_errors=True)


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=_PYCACHE)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


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


def measure_startup(cmd: list[str], program: str, until: str, spinner_pid: int) -> Sample | None:
    """One run: spawn to the line ``until`` (or to exit), and to exit; None when it took over 15 s."""
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, "-e", program, str(spinner_pid)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=_env())
    assert proc.stdout is not None
    first = None
    if until != "exit":
        ok, _ = _read_until(proc.stdout.fileno(), (until.encode(),), 15)
        if not ok:
            _stop(proc)
            return None
        first = time.perf_counter() - start
    while os.read(proc.stdout.fileno(), 65536):  # drain to EOF (the tool exits by itself)
        pass
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return Sample(first, time.perf_counter() - start, usage.ru_maxrss)


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
    parser.add_argument("--purebpf", metavar="CMD", help="the purebpf command to run, e.g. a venv's console script "
                        "(default: this interpreter with -m purebpf, from this tree)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: both tools load BPF programs", file=sys.stderr)
        return 1
    tools = commands([args.purebpf] if args.purebpf else [sys.executable, "-m", "purebpf"])
    subprocess.run([*tools["purebpf trace"], "-e", "BEGIN { exit(); }"], env=_env(), stdout=subprocess.DEVNULL,
                   check=True)  # writes the bytecode cache the measured runs read
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
    print(f"start-up: median of {args.runs} runs (ms; first line = the awaited 'hit' line)")
    print(f"{'program':<14} {'tool':<14} {'first line':>10} {'exit':>8} {'peak RSS':>11}")
    medians: dict[tuple[str, str], tuple[float | None, float, float]] = {}
    try:
        for label, (program, until) in STARTUP.items():
            for tool, cmd in tools.items():
                runs = [measure_startup(cmd, program, until, spinner.pid) for _ in range(args.runs)]
                samples = [r for r in runs if r is not None]
                if len(samples) < len(runs):
                    print(f"  ({tool}: {len(runs) - len(samples)} of {len(runs)} runs did not finish within 15 s)")
                if not samples:
                    continue
                first = statistics.median(s.first_line_s for s in samples) if until != "exit" else None
                done = statistics.median(s.exit_s for s in samples)
                rss = statistics.median(s.rss_kib for s in samples) / 1024
                medians[label, tool] = (first, done, rss)
                first_text = f"{first * 1000:.0f}" if first is not None else "-"
                print(f"{label:<14} {tool:<14} {first_text:>10} {done * 1000:>8.0f} {rss:>7.1f} MiB")
            if (label, "bpftrace") in medians and (label, "purebpf trace") in medians:
                (f1, e1, r1), (f2, e2, r2) = medians[label, "purebpf trace"], medians[label, "bpftrace"]
                ratio_first = f"{f1 / f2:.2f}x" if f1 is not None and f2 is not None else "-"
                print(f"{label:<14} {'ratio':<14} {ratio_first:>10} {e1 / e2:>7.2f}x {r1 / r2:>9.2f}x")
    finally:
        spinner.kill()
        spinner.wait()
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
