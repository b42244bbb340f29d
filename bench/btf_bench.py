"""Cost of opening the kernel's BTF and answering "offset of task_struct.pid", against bpftool.

Every measurement runs in a fresh process; time is wall-clock from spawn to exit, peak RSS
is the child's ``ru_maxrss`` from ``wait4``.  bpftool cannot print one struct by name, so
its row is ``bpftool btf dump file /sys/kernel/btf/vmlinux format raw`` piped into grep,
the way one finds a member offset with it.  The last two rows render a whole vmlinux.h.

    python3 bench/btf_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VMLINUX = "/sys/kernel/btf/vmlinux"

BARE = "import resource"
LOOKUP = """
import time
t = time.perf_counter()
from purebpf.btf import BTF
btf = BTF.load_kernel()
off = btf.member_offset("task_struct", "pid")
print(off, round((time.perf_counter() - t) * 1e3, 2))
"""
RENDER = """
from purebpf.btf import BTF, render_c
import sys
sys.stdout.write(render_c(BTF.load_kernel()))
"""
GREP = f"bpftool btf dump file {VMLINUX} format raw | grep -A400 \"STRUCT 'task_struct'\" | grep -m1 \"'pid'\""


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall ms, peak RSS MB, stdout) of one fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t) * 1e3
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, out.decode(errors="replace")


def measure(runs: int, argv: list[str], env=None, prepare=None) -> dict:
    walls, rss, inproc, outs = [], [], [], []
    for _ in range(runs):
        if prepare:
            prepare()
        wall, peak, out = run(argv, env)
        walls.append(wall)
        rss.append(peak)
        outs.append(out)
        parts = out.split()
        if len(parts) == 2 and argv[0] == sys.executable:
            inproc.append(float(parts[1]))
    return {"wall": statistics.median(walls), "rss": statistics.median(rss),
            "inproc": statistics.median(inproc) if inproc else None, "out": outs[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bpftool = shutil.which("bpftool")
    env = dict(os.environ, PYTHONPATH=ROOT)
    cache = tempfile.mkdtemp(prefix="purebpf-bench-")
    try:
        rows = []
        bare = measure(args.runs, [sys.executable, "-c", BARE], env)
        rows.append(("bare python (baseline)", bare))
        cold = measure(args.runs, [sys.executable, "-c", LOOKUP], dict(env, PUREBPF_CACHE_DIR=""))
        rows.append(("purebpf pid offset, no cache", cold))
        run([sys.executable, "-c", LOOKUP], dict(env, PUREBPF_CACHE_DIR=cache))  # fill the cache
        warm = measure(args.runs, [sys.executable, "-c", LOOKUP], dict(env, PUREBPF_CACHE_DIR=cache))
        rows.append(("purebpf pid offset, cached", warm))
        if bpftool:
            rows.append(("bpftool format raw | grep pid", measure(args.runs, ["sh", "-c", GREP])))
        full_runs = max(3, args.runs // 2)
        rows.append(("purebpf whole vmlinux.h (cached)",
                     measure(full_runs, [sys.executable, "-c", RENDER], dict(env, PUREBPF_CACHE_DIR=cache))))
        if bpftool:
            rows.append(("bpftool whole vmlinux.h (format c)",
                         measure(full_runs, [bpftool, "btf", "dump", "file", VMLINUX, "format", "c"])))
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    offset = warm["out"].split()[0]
    print(f"task_struct.pid offset: {offset} bytes (runs: {args.runs}, medians; python {sys.version.split()[0]})")
    ref = {r[0]: r[1] for r in rows}
    header = (f"{'case':38} {'wall ms':>9} {'in-proc ms':>10} {'peak RSS MB':>11} {'+RSS vs bare':>12} "
              f"{'wall vs bpftool':>15}")
    print(header)
    print("-" * len(header))
    peer_lookup = ref.get("bpftool format raw | grep pid")
    peer_full = ref.get("bpftool whole vmlinux.h (format c)")
    for name, r in rows:
        peer = peer_full if "vmlinux.h" in name else peer_lookup
        ratio = f"{r['wall'] / peer['wall']:.2f}x" if peer and name.startswith("purebpf") else ""
        extra = f"{r['rss'] - bare['rss']:+.1f}" if name.startswith("purebpf") else ""
        inproc = f"{r['inproc']:.1f}" if r["inproc"] is not None else ""
        print(f"{name:38} {r['wall']:9.1f} {inproc:>10} {r['rss']:11.1f} {extra:>12} {ratio:>15}")
    ok_time = warm["inproc"] < 50
    ok_rss = warm["rss"] - bare["rss"] < 15
    print(f"goals: cached open+lookup under 50 ms in-process: {'yes' if ok_time else 'NO'} "
          f"({warm['inproc']:.1f} ms); under 15 MB over bare python: {'yes' if ok_rss else 'NO'} "
          f"({warm['rss'] - bare['rss']:.1f} MB)")


if __name__ == "__main__":
    main()
