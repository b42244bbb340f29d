#!/usr/bin/env python3
"""What one uprobe_multi link saves over one program and perf event per function, for a wide wildcard.

    sudo python3 bench/uprobe_multi_bench.py [--runs 3] [--probe 'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:str*']

The same ``purebpf trace`` program is compiled, loaded, attached and detached in this process, once with
wildcard uprobes sharing one program and link (what Linux 6.6+ gets) and once with a program each (what
older kernels get).  Each phase's best of --runs is shown, with the programs and links it made.
"""

from __future__ import annotations

import argparse
import io
import time

from purebpf.trace.compiler import compile_program
from purebpf.trace.runtime import Tracer

PHASES = ("compile", "load", "attach", "detach")


def once(text: str, multi: bool) -> tuple[int, int, int, list[float]]:
    """(attach points, programs, links, seconds per phase) of one run."""
    t0 = time.perf_counter()
    program = compile_program(text, uprobe_multi=multi)
    t1 = time.perf_counter()
    tracer = Tracer(program, out=io.StringIO())
    try:
        tracer.load()
        t2 = time.perf_counter()
        count = tracer.attach()
        t3 = time.perf_counter()
        links = len(tracer.links)
    finally:
        tracer.close()
    t4 = time.perf_counter()
    return count, len(program.probes), links, [t1 - t0, t2 - t1, t3 - t2, t4 - t3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--probe", default="uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:str*")
    args = parser.parse_args()
    text = args.probe + " { @[func] = count(); }"
    print(f"{args.probe}: best of {args.runs} runs, seconds")
    print(f"{'mode':<22}{'probes':>7}{'progs':>7}{'links':>7}" + "".join(f"{p:>9}" for p in PHASES))
    for multi, label in ((False, "a program per function"), (True, "one uprobe_multi link")):
        runs = [once(text, multi) for _ in range(args.runs)]
        count, progs, links, _ = runs[0]
        best = [min(r[3][i] for r in runs) for i in range(len(PHASES))]
        print(f"{label:<22}{count:>7}{progs:>7}{links:>7}" + "".join(f"{b:>9.3f}" for b in best))


if __name__ == "__main__":
    main()
