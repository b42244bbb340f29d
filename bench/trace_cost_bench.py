#!/usr/bin/env python3
"""In-kernel cost per event of ``purebpf trace``'s generated code against ``bpftrace``'s, same scripts, same run.

    sudo python3 bench/trace_cost_bench.py [--runs 5] [--events 200000] [--only count,hist] [--dump DIR]
                                           [--strlen BYTES]

Each script is a ``tracepoint:syscalls:sys_enter_getppid`` probe (the ``str``
scripts: ``sys_enter_chdir``, whose workload changes to a directory with a
48-byte path; --strlen runs both tools with strings of that many bytes).  Each tool runs
it alone: once the tool has attached (a ``BEGIN`` probe added to the script
prints ``ready``), a workload process makes --events ``getppid`` calls, and the
bench reads ``run_cnt`` and ``run_time_ns`` of the tool's program before and
after (the kernel counts them while run-time statistics are on: the bench holds
them on with ``BPF_ENABLE_STATS``, the fd form of ``kernel.bpf_stats_enabled``,
which turns itself off when the bench exits and does not disturb the sysctl).
The program is found through the tool's own open fds (``/proc/PID/fdinfo``
names each ``prog_id``), so programs other processes load at the same time
never get in the way.

Reported: nanoseconds per event (``run_time_ns / run_cnt`` over the workload;
median of --runs), their ratio purebpf / bpftrace (below 1 is better for
purebpf), the same ratio net of the floor (the ``empty`` program's cost: what
timing a run costs, which no code generator can save), and the size of both
programs: instructions after the verifier (xlated, 8-byte slots; ``ld_imm64``
takes two) and bytes of x86 code (jited).  The printf script paces its
workload (--printf-rate calls per second) so that neither reader falls behind
and drops records, which would make the probe look cheaper than it is.  With
--dump DIR, both tools' xlated code is written to DIR/<script>.<tool>.txt
(``bpftool prog dump xlated``) for diffing.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from purebpf.programs import Program, enable_stats  # noqa: E402

PROBE = "tracepoint:syscalls:sys_enter_getppid"
SCRIPTS = {
    "empty": "",  # the floor: running any program on this tracepoint
    "count": "@[comm] = count();",
    "hist": "@h = hist(nsecs & 0xffff);",
    "string key": '@m["getppid"] = count();',
    "tuple key": "@[pid, comm] = count();",
    "sum": "@s = sum(pid);",
    "printf": 'printf("%d %s\\n", pid, comm);',
    # str() of a syscall's string argument (args->: bpftrace 0.17 reads no args.x): chdir(2) to a directory
    # whose path is STR_PATH_LEN bytes long
    "str key": "@[str(args->filename)] = count();",
    "str cmp": 'if (str(args->filename) != "/") { @c = count(); }',
    "str printf": 'printf("%d %s\\n", pid, str(args->filename));',
    # string operations over run-time strings (bpf_loop callbacks past 64 bytes); bpftrace 0.17 has no strlen()
    # or strcontains(), and its strncmp() refuses a length past its strings: those run in purebpf alone
    "str eq": "if (str(args->filename) == str(args->filename)) { @c = count(); }",
    "str ncmp": "if (strncmp(str(args->filename), str(args->filename), 1000) == 0) { @c = count(); }",
    "str len": "@l = strlen(str(args->filename));",
    "str len var": "$s = str(args->filename); @l = strlen($s);",
    "str in lit": 'if (strcontains(str(args->filename), "zzz")) { @c = count(); }',
    "str in str": "if (strcontains(str(args->filename), str(args->filename + 20))) { @c = count(); }",
}
PUREBPF_ONLY = {"str ncmp", "str len", "str len var", "str in lit", "str in str"}
PACED = {"printf", "str printf"}
STR_PROBE = "tracepoint:syscalls:sys_enter_chdir"
STR_PATH_LEN = 48  # fits bpftrace 0.17's default 64-byte strings whole
TRACEPOINT_PROG = 5  # BPF_PROG_TYPE_TRACEPOINT in fdinfo's prog_type
WORKLOAD = """\
import os, sys, time
sys.stdin.readline()
calls, rate, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
work = (lambda: os.chdir(path)) if path else os.getppid
batch = 500
start = time.perf_counter()
for i in range(0, calls, batch):
    for _ in range(min(batch, calls - i)):
        work()
    if rate:
        ahead = (i + batch) / rate - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
"""


@dataclass
class Sample:
    ns_per_event: float
    events: int
    xlated_insns: int
    jited_bytes: int
    prog_id: int
    lost: int = 0  # printf lines that never arrived


def commands() -> dict[str, list[str]]:
    tools = {"purebpf": [sys.executable, "-m", "purebpf", "trace", "-B", "line"]}
    if shutil.which("bpftrace"):
        tools["bpftrace"] = ["bpftrace", "-B", "line"]
    return tools


def program(body: str) -> str:
    probe = STR_PROBE if "str(" in body else PROBE
    return f'BEGIN {{ printf("ready\\n"); }} {probe} {{ {body} }}'


def tool_programs(pid: int) -> list[int]:
    """Ids of the tracepoint programs process ``pid`` holds open."""
    ids = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if "bpf-prog" not in os.readlink(f"/proc/{pid}/fd/{fd}"):
                continue
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines()
                          if ":" in line)
        except OSError:
            continue  # closed meanwhile
        if int(fields.get("prog_type", "-1")) == TRACEPOINT_PROG:
            ids.append(int(fields["prog_id"]))
    return sorted(set(ids))


def wait_ready(out: Path, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"ready\n" in out.read_bytes():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited before attaching: {out.read_text(errors='replace')[-500:]}")
        time.sleep(0.02)
    raise RuntimeError(f"{proc.args[0]} did not attach within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """SIGINT like Ctrl-C (both tools print their maps and exit); SIGKILL after 5 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def delivered(out: Path, mark: bytes, events: int, quiet: float = 1.0, timeout: float = 20) -> int:
    """Lines holding ``mark`` once the reader has caught up (no new one for ``quiet`` seconds)."""
    seen, last, deadline = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = out.read_bytes().count(mark)
        if count >= events:
            return count
        if count != seen:
            seen, last = count, time.monotonic()
        elif time.monotonic() - last > quiet:
            break
        time.sleep(0.1)
    return seen


def counters(prog: Program) -> tuple[int, int]:
    info = prog.info()
    return info.run_cnt, info.run_time_ns


def string_env(tool: str, strlen: int | None) -> dict[str, str]:
    """Both tools at the same string size: ``strlen`` bytes with the NUL (bpftrace 0.17's BPFTRACE_STRLEN),
    which current bpftrace and purebpf spell as max_strlen = strlen - 1 characters."""
    if strlen is None:
        return {}
    return {"BPFTRACE_STRLEN": str(strlen)} if tool == "bpftrace" else {"BPFTRACE_MAX_STRLEN": str(strlen - 1)}


def str_path(tmp: str) -> str:
    """A directory whose path is STR_PATH_LEN bytes long (what chdir(2) hands the str() scripts)."""
    path = Path(tmp, "d" * (STR_PATH_LEN - len(tmp) - 1))
    path.mkdir()
    return str(path)


def measure(cmd: list[str], body: str, events: int, rate: float, dump: Path | None,
            env: dict[str, str] | None = None) -> Sample:
    """One run of one tool on one script."""
    with tempfile.TemporaryDirectory(prefix="purebpf-cost-") as tmp:
        out = Path(tmp, "out")
        target = str_path(tmp) if "str(" in body else ""
        with out.open("wb") as sink:
            tool = subprocess.Popen([*cmd, "-e", program(body)], stdout=sink, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))
        try:
            wait_ready(out, tool)
            progs = [Program.from_id(i) for i in tool_programs(tool.pid)]
            try:
                if not progs:
                    raise RuntimeError(f"{cmd[0]} holds no tracepoint program open")
                before = [counters(p) for p in progs]
                worker = subprocess.Popen([sys.executable, "-c", WORKLOAD, str(events), str(rate), target],
                                          stdin=subprocess.PIPE)
                worker.communicate(b"go\n")
                after = [counters(p) for p in progs]
                lost = 0
                if body.startswith("printf"):  # lines start with the pid: a dropped record shows here
                    lost = events - delivered(out, f"\n{worker.pid} ".encode(), events)
                # the probe's program is the one that ran (another tracepoint program would be idle)
                runs = [(a[0] - b[0], a[1] - b[1], p) for a, b, p in zip(after, before, progs, strict=True)]
                cnt, ns, prog = max(runs, key=lambda r: r[0])
                info = prog.info()
                if cnt < events:
                    raise RuntimeError(f"{cmd[0]}'s program ran {cnt} times for {events} calls")
                if dump is not None:
                    dump.write_text(subprocess.run(["bpftool", "prog", "dump", "xlated", "id", str(info.id)],
                                                   capture_output=True, text=True, check=True).stdout)
                return Sample(ns / cnt, cnt, info.xlated_size // 8, info.jited_size, info.id, lost)
            finally:
                for p in progs:
                    p.close()
        finally:
            stop(tool)


def row(label: str, body: str, results: dict[str, list[Sample]], floor: dict[str, float]) -> str:
    ns = {t: statistics.median(s.ns_per_event for s in r) for t, r in results.items()}
    last = {t: r[-1] for t, r in results.items()}
    lost = {t: max(s.lost for s in r) for t, r in results.items()}
    pb, bt = ns["purebpf"], ns.get("bpftrace")
    if bt is None:
        return f"{label:<11} {pb:>10.1f} {'-':>11} {'-':>6} {'-':>6} {last['purebpf'].xlated_insns:>13}  {body}"
    net = "-"
    if floor and label != "empty" and bt - floor["bpftrace"] > 0:
        net = f"{(pb - floor['purebpf']) / (bt - floor['bpftrace']):.2f}x"
    sizes = (f"{last['purebpf'].xlated_insns}/{last['bpftrace'].xlated_insns}",
             f"{last['purebpf'].jited_bytes}/{last['bpftrace'].jited_bytes}")
    note = f"  (lost lines, worst run: {lost['purebpf']}/{lost['bpftrace']})" if any(lost.values()) else ""
    return (f"{label:<11} {pb:>10.1f} {bt:>11.1f} {pb / bt:>5.2f}x {net:>6} {sizes[0]:>13} {sizes[1]:>14}  "
            f"{body}{note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--printf-rate", type=float, default=20_000, help="getppid calls per second for printf")
    parser.add_argument("--only", help="comma-separated script names: " + ", ".join(SCRIPTS))
    parser.add_argument("--dump", type=Path, help="write each tool's xlated code here")
    parser.add_argument("--strlen", type=int, help="string size in bytes for both tools (bpftrace 0.17 takes "
                        "at most 200); default: each tool's own (bpftrace 0.17: 64, purebpf: 1025)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: both tools load BPF programs", file=sys.stderr)
        return 1
    scripts = {k: v for k, v in SCRIPTS.items() if not args.only or k in args.only.split(",")}
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
    tools = commands()
    print(f"in-kernel ns per event ({PROBE}; str scripts: {STR_PROBE}, a {STR_PATH_LEN}-byte path), "
          f"{args.events} calls, median of {args.runs} runs;")
    if args.strlen:
        print(f"strings of {args.strlen} bytes in both tools (BPFTRACE_STRLEN / BPFTRACE_MAX_STRLEN)")
    print("ratio = purebpf / bpftrace; net = the same with the empty program's cost (the floor) taken off both")
    print(f"{'script':<11} {'purebpf ns':>10} {'bpftrace ns':>11} {'ratio':>6} {'net':>6} "
          f"{'xlated pb/bt':>13} {'jited B pb/bt':>14}  program")
    floor: dict[str, float] = {}
    with enable_stats():
        for label, body in scripts.items():
            rate = args.printf_rate if label in PACED else 0
            these = {t: c for t, c in tools.items() if t == "purebpf" or label not in PUREBPF_ONLY}
            results: dict[str, list[Sample]] = {t: [] for t in these}
            for _ in range(args.runs):  # alternate the tools, so a noisy moment hits both
                for tool, cmd in these.items():
                    dump = args.dump / f"{label.replace(' ', '_')}.{tool}.txt" if args.dump else None
                    results[tool].append(measure(cmd, body, args.events, rate, dump, string_env(tool, args.strlen)))
            if label == "empty":
                floor = {t: statistics.median(s.ns_per_event for s in r) for t, r in results.items()}
            print(row(label, body, results, floor), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
