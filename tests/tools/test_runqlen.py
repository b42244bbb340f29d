"""runqlen sees the queue three CPU-bound workloads pinned to one CPU make."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

from tests.tools.harness import one_line_error, run_purebpf


def test_three_spinners_queue_two(work):
    spinners = [subprocess.Popen(["taskset", "-c", "0", work, "spin", "2500"]) for _ in range(3)]
    try:
        with ThreadPoolExecutor(2) as pool:  # both tools over the same second
            hists = pool.submit(run_purebpf, "runqlen", "-C", "-j", "1", "1")
            occ = run_purebpf("runqlen", "-O", "-C", "1", "1")
            out = hists.result().stdout
    finally:
        for p in spinners:
            p.wait(timeout=30)
    cpu0 = next(r for r in map(json.loads, out.splitlines()) if r["cpu"] == 0)
    queued = sum(b["count"] for b in cpu0["buckets"] if b["runqlen"] >= 2)
    assert cpu0["total"] >= 50 and queued >= 0.8 * cpu0["total"], cpu0
    assert occ.stdout.startswith("Sampling run queue length... Hit Ctrl-C to end.\n\n")
    line = next(ln for ln in occ.stdout.splitlines() if ln.startswith("runqocc, CPU 0 "))
    assert float(line.split()[-1].rstrip("%")) >= 80, occ.stdout


def test_linear_histogram_layout():
    from purebpf.tools import hist

    assert hist.linear_lines([0, 3, 0, 6], "runqlen") == [
        "     runqlen       : count     distribution",
        "        1          : 3        |********************                    |",
        "        3          : 6        |****************************************|",
    ]


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("runqlen", "-f", "0"))
    one_line_error(run_purebpf("runqlen", "1", "x"))
