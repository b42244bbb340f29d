"""runqlen: run queue length as a histogram, by sampling every CPU (libbpf-tools' output).

    purebpf runqlen -C 1 5      # per CPU, five 1-second summaries
    purebpf runqlen -O          # run queue occupancy: how often a task waited

A perf event (cpu-clock, -f Hz, default 99) on every CPU reads the number
of tasks queued on the current task's CFS run queue
(``task->se.cfs_rq->nr_queued``, ``nr_running`` before Linux 6.14; offsets
from BTF), less the running one, into a histogram per CPU.
"""

from __future__ import annotations

import struct

from purebpf.asm import FP, R0, R1, R6, R7, AluOp, AtomicOp, JmpOp, alu, atomic, call, jmp, mov, stx
from purebpf.links import PerfEvent
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.sys.cpus import possible_cpus
from purebpf.sys.perf import PerfType, SoftwareEvent
from purebpf.tools import common, hist, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SLOTS = 32


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-C", "--cpus", action="store_true", help="print output for each CPU separately")
    p.add_argument("-f", "--frequency", type=common.positive_int, default=99, help="sample with this frequency (99)")
    p.add_argument("-O", "--runqocc", action="store_true", help="report run queue occupancy")
    p.add_argument("-T", "--timestamp", action="store_true", help="include timestamp on output")
    common.add_interval_count(p)
    common.add_json(p)


def _queued_offset() -> int:
    for member in ("nr_queued", "nr_running"):
        try:
            return kit.kernel_offset("cfs_rq", member)
        except Exception:  # noqa: BLE001 - renamed in 6.14
            continue
    from purebpf.errors import NotSupportedError
    raise NotSupportedError("this kernel's struct cfs_rq has neither nr_queued nor nr_running: cannot read its length")


def build(s: Session, args: argparse.Namespace, ncpus: int) -> object:
    hists = s.map(MapType.ARRAY, 4, SLOTS * 4, ncpus if args.cpus else 1, "runqlen_hists")
    se = kit.kernel_offset("task_struct", "se") + kit.kernel_offset("sched_entity", "cfs_rq")
    a = kit.Asm()
    a(call("get_current_task"), mov(R6, R0))
    kit.read_kernel_chain(a, R7, R6, [(se, 8), (_queued_offset(), 4)], slot=-16)
    counted = a.fresh("len")
    a(jmp(JmpOp.JEQ, R7, 0, counted), alu(AluOp.SUB, R7, 1))  # less the running task
    a.mark(counted)
    capped = a.fresh("cap")
    a(jmp(JmpOp.JLT, R7, SLOTS, capped), mov(R7, SLOTS - 1))
    a.mark(capped)
    if args.cpus:
        a(call("get_smp_processor_id"), stx(4, FP, -4, R0))
    else:
        a(mov(R1, 0), stx(4, FP, -4, R1))
    kit.map_lookup(a, hists.fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), alu(AluOp.LSH, R7, 2), alu(AluOp.ADD, R0, R7), mov(R1, 1),
      atomic(AtomicOp.ADD, 4, R0, 0, R1))
    prog = s.own(a.load(ProgType.PERF_EVENT, "runqlen"))
    s.own(PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=args.frequency))
    return hists


def print_summary(out: common.Output, hists, args: argparse.Namespace, ncpus: int) -> None:
    out.text("")
    when = common.Clock.hms()
    if args.timestamp:
        out.text(cfmt("%-8s", when))
    for cpu in range(ncpus if args.cpus else 1):
        key = struct.pack("<I", cpu)
        counts = list(struct.unpack(f"<{SLOTS}I", hists.lookup_raw(key) or bytes(SLOTS * 4)))
        hists.update_raw(key, bytes(SLOTS * 4))
        record: dict = {"time": when, "cpu": cpu} if args.cpus else {"time": when}
        if args.runqocc:
            total = sum(counts)
            occ = 100.0 * (total - counts[0]) / total if total else 0.0
            out.text(cfmt("runqocc, CPU %-3d %6.2f%%", cpu, occ) if args.cpus else cfmt("runqocc: %0.2f%%", occ))
            out.record({**record, "samples": total, "runqocc": round(occ, 2)})
            continue
        if args.cpus:
            out.text(cfmt("cpu = %d", cpu))
        for line in hist.linear_lines(counts, "runqlen"):
            out.text(line)
        out.record({**record, "buckets": [{"runqlen": i, "count": c} for i, c in enumerate(counts) if c],
                    "total": sum(counts)})


def run(args: argparse.Namespace) -> int:
    out = common.Output(args.json)
    ncpus = possible_cpus()
    with Session() as s:
        hists = build(s, args, ncpus)
        out.text("Sampling run queue length... Hit Ctrl-C to end.")
        common.ready(out)
        common.run_loop(common.sleep_ms, out, interval=args.interval, count=args.count,
                        on_interval=lambda: print_summary(out, hists, args, ncpus))
    return 0
