"""softirqs: time spent in each kind of soft interrupt (libbpf-tools' output).

    purebpf softirqs -d 1 5      # histograms, five 1-second summaries

``irq:softirq_entry`` stamps the CPU's start time; ``irq:softirq_exit``
adds the time since then to the vector's total (or histogram), kept in
arrays indexed by vector.  -C counts the softirqs instead, as hardirqs -C does.
"""

from __future__ import annotations

import struct

from purebpf.asm import FP, R0, R1, R2, R6, R7, R8, AluOp, AtomicOp, JmpOp, alu, atomic, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, hist, irqs, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SLOTS = 20
VEC_NAMES = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"]


arguments = irqs.arguments


def _value_of_vec(a: kit.Asm, table_fd: int, ctx) -> None:
    """r0 = &table[vec] (or leave): the vector is the tracepoint's ``vec``."""
    vec = kit.tp_fields("irq", "softirq_exit")["vec"].offset
    a(ldx(4, R1, ctx, vec), jmp(JmpOp.JGE, R1, len(VEC_NAMES), a.out), stx(4, FP, -4, R1))
    kit.map_lookup(a, table_fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out))


def build(s: Session, args: argparse.Namespace) -> object:
    n = len(VEC_NAMES)
    table = s.map(MapType.ARRAY, 4, SLOTS * 4 if args.distributed else 8, n, "softirq_table")
    if args.events:
        a = kit.Asm()
        _value_of_vec(a, table.fd, R1)
        a(mov(R1, 1), atomic(AtomicOp.ADD, 8, R0, 0, R1))
        s.tracepoint(a.load(ProgType.TRACEPOINT, "softirq_count"), "irq", "softirq_entry")
        return table
    start = s.map(MapType.PERCPU_ARRAY, 4, 8, 1, "softirq_start")
    a = kit.Asm()
    a(mov(R1, 0), stx(4, FP, -4, R1))
    kit.map_lookup(a, start.fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R6, R0), call("ktime_get_ns"), stx(8, R6, 0, R0))
    s.tracepoint(a.load(ProgType.TRACEPOINT, "softirq_entry"), "irq", "softirq_entry")

    a = kit.Asm()
    a(mov(R6, R1), mov(R1, 0), stx(4, FP, -4, R1))
    kit.map_lookup(a, start.fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), ldx(8, R7, R0, 0), jmp(JmpOp.JEQ, R7, 0, a.out), mov(R1, 0), stx(8, R0, 0, R1))
    a(call("ktime_get_ns"), alu(AluOp.SUB, R0, R7), jmp(JmpOp.JSLT, R0, 0, a.out))
    if not args.nanoseconds:
        a(alu(AluOp.DIV, R0, 1000))
    a(mov(R7, R0))
    _value_of_vec(a, table.fd, R6)
    if args.distributed:
        a(mov(R8, R0))
        kit.log2_slot(a, R1, R7, R2, R6)
        capped = a.fresh("cap")
        a(jmp(JmpOp.JLT, R1, SLOTS, capped), mov(R1, SLOTS - 1))
        a.mark(capped)
        a(alu(AluOp.LSH, R1, 2), mov(R0, R8), alu(AluOp.ADD, R0, R1), mov(R1, 1), atomic(AtomicOp.ADD, 4, R0, 0, R1))
    else:
        a(atomic(AtomicOp.ADD, 8, R0, 0, R7))
    s.tracepoint(a.load(ProgType.TRACEPOINT, "softirq_exit"), "irq", "softirq_exit")
    return table


def _take(table, vec: int, size: int) -> bytes:
    key = struct.pack("<I", vec)
    raw = table.lookup_raw(key) or bytes(size)
    table.update_raw(key, bytes(size))
    return raw


def print_summary(out: common.Output, table, args: argparse.Namespace) -> None:
    unit, when = irqs.summary_start(out, args)
    if args.distributed:
        for vec, name in enumerate(VEC_NAMES):
            counts = list(struct.unpack(f"<{SLOTS}I", _take(table, vec, SLOTS * 4)))
            if not any(counts):
                continue
            out.text(f"softirq = {name}")
            for line in hist.log2_lines(counts, unit):
                out.text(line)
            out.text("")
            out.record(hist.hist_record(unit, counts, time=when, softirq=name))
        return
    out.text(cfmt("%-16s %6s%5s", "SOFTIRQ", "TOTAL_", "count" if args.events else unit))
    for vec, name in enumerate(VEC_NAMES):
        value = int.from_bytes(_take(table, vec, 8), "little")
        if value:
            out.text(cfmt("%-16s %11d", name, value))
            out.record({"time": when, "softirq": name, "count" if args.events else f"total_{unit}": value})


def run(args: argparse.Namespace) -> int:
    return irqs.run(args, "soft", build, print_summary)
