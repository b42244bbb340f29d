"""hardirqs: time (or count) spent in each hard interrupt handler (libbpf-tools' output).

    purebpf hardirqs -d 1 5      # histograms, five 1-second summaries
    purebpf hardirqs -C          # event counts instead of time

``irq:irq_handler_entry`` stamps the CPU's start time with the handler's
name (the tracepoint's ``name`` string); ``irq:irq_handler_exit`` adds the
time since then to the name's total or histogram.  Handlers do not nest on a
CPU, so one per-CPU slot holds the handler in progress.
"""

from __future__ import annotations

from purebpf.asm import FP, R0, R1, R6, R7, R8, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, hist, irqs, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SLOTS = 20
NAME = 32


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    irqs.arguments(p)


def build(s: Session, args: argparse.Namespace) -> object:
    infos = s.hash(NAME, SLOTS * 4 if args.distributed else 8, "irq_infos")
    cgroup = s.cgroup_filter(args.cgroup)
    name_off = kit.tp_fields("irq", "irq_handler_entry")["name"].offset

    a = kit.Asm()
    a(mov(R6, R1))
    kit.filter_cgroup(a, cgroup)
    kit.read_data_loc_str(a, R6, name_off, -NAME, NAME)
    if args.events:
        kit.counter_add(a, infos.fd, -NAME, 1, -NAME - 8)
        s.tracepoint(a.load(ProgType.TRACEPOINT, "hardirq_count"), "irq", "irq_handler_entry")
        return infos
    start = s.map(MapType.PERCPU_ARRAY, 4, NAME + 8, 1, "irq_start")  # name, then the start time
    a(mov(R1, 0), stx(4, FP, -NAME - 4, R1))
    kit.map_lookup(a, start.fd, -NAME - 4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R7, R0))
    kit.copy_stack(a, R7, -NAME, NAME)
    a(call("ktime_get_ns"), stx(8, R7, NAME, R0))
    s.tracepoint(a.load(ProgType.TRACEPOINT, "hardirq_entry"), "irq", "irq_handler_entry")

    zero = s.map(MapType.ARRAY, 4, SLOTS * 4, 1, "irq_zero") if args.distributed else None
    a = kit.Asm()
    kit.filter_cgroup(a, cgroup)
    a(mov(R1, 0), stx(4, FP, -NAME - 4, R1))
    kit.map_lookup(a, start.fd, -NAME - 4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R7, R0), ldx(8, R8, R7, NAME), jmp(JmpOp.JEQ, R8, 0, a.out))
    a(mov(R1, 0), stx(8, R7, NAME, R1))  # consumed: a lost entry never pairs with a later exit
    kit.copy_stack(a, -NAME, R7, NAME)
    a(call("ktime_get_ns"), alu(AluOp.SUB, R0, R8), jmp(JmpOp.JSLT, R0, 0, a.out))
    if not args.nanoseconds:
        a(alu(AluOp.DIV, R0, 1000))
    a(mov(R7, R0))
    if args.distributed:
        kit.hist_increment(a, infos.fd, zero.fd, -NAME, R7, SLOTS)
    else:
        kit.counter_add(a, infos.fd, -NAME, R7, -NAME - 16)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "hardirq_exit"), "irq", "irq_handler_exit")
    return infos


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def print_summary(out: common.Output, infos, args: argparse.Namespace) -> None:
    unit, when = irqs.summary_start(out, args)
    if args.distributed:
        for name, counts, _ in sorted(hist.drain(infos, _name, SLOTS)):
            out.text(f"hardirq = {name}")
            for line in hist.log2_lines(counts, unit):
                out.text(line)
            out.record(hist.hist_record(unit, counts, time=when, hardirq=name))
        return
    if args.events:
        out.text(cfmt("%-26s %11s", "HARDIRQ", "TOTAL_count"))
    else:
        out.text(cfmt("%-26s %6s%5s", "HARDIRQ", "TOTAL_", unit))
    rows = []
    for key, raw in list(infos.items_raw()):
        rows.append((_name(key), int.from_bytes(raw[:8], "little")))
        infos.delete_raw(key)
    for name, value in sorted(rows, key=lambda r: (-r[1], r[0])):
        out.text(cfmt("%-26s %11d", name, value))
        out.record({"time": when, "hardirq": name, "count" if args.events else f"total_{unit}": value})


def run(args: argparse.Namespace) -> int:
    return irqs.run(args, "hard", build, print_summary)
