"""biolatency: block I/O latency as a histogram (libbpf-tools' output).

    purebpf biolatency -D 1 5     # per disk, five 1-second summaries

Raw tracepoints ``block_rq_issue`` (or, with -Q, ``block_rq_insert`` too)
stamp each request and ``block_rq_complete`` measures it; the disk and the
request flags are read from the request through BTF offsets.
"""

from __future__ import annotations

import struct

from purebpf.asm import FP, R0, R1, R6, R7, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.links import RawTracepoint
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, disks, hist, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SLOTS = 27
KEY = struct.Struct("<II")  # dev, cmd_flags


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    p.add_argument("-d", "--disk", help="trace this disk only")
    p.add_argument("-D", "--disks", action="store_true", help="print a histogram per disk device")
    p.add_argument("-F", "--flag", action="store_true", help="print a histogram per set of I/O flags")
    p.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    p.add_argument("-Q", "--queued", action="store_true", help="include OS queued time in I/O time")
    p.add_argument("-T", "--timestamp", action="store_true", help="include timestamp on output")
    common.add_interval_count(p)
    common.add_json(p)


def build(s: Session, args: argparse.Namespace, target_dev: int | None) -> object:
    start = s.hash(8, 8, "bio_start")
    hists = s.hash(KEY.size, SLOTS * 4, "bio_hists")
    zero = s.map(MapType.ARRAY, 4, SLOTS * 4, 1, "bio_zero")
    cgroup = s.cgroup_filter(args.cgroup)

    def stamp(name: str, flags: int) -> None:
        a = kit.Asm()
        kit.filter_cgroup(a, cgroup)
        a(ldx(8, R6, R1, 0), stx(8, FP, -8, R6))
        if target_dev is not None:
            kit.request_dev(a, R7, R6)
            a(jmp(JmpOp.JNE, R7, target_dev, a.out))
        a(call("ktime_get_ns"), stx(8, FP, -16, R0))
        kit.map_update(a, start.fd, -8, -16, flags)
        prog = s.own(a.load(ProgType.RAW_TRACEPOINT, f"bio_{name[9:]}"))
        s.own(RawTracepoint(prog, name))

    if args.queued:
        stamp("block_rq_insert", 0)
    stamp("block_rq_issue", kit.MAP_NOEXIST if args.queued else 0)

    a = kit.Asm()
    a(ldx(8, R6, R1, 0), stx(8, FP, -8, R6))
    kit.map_lookup(a, start.fd, -8)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), ldx(8, R7, R0, 0), call("ktime_get_ns"), alu(AluOp.SUB, R0, R7))
    done = a.fresh("done")
    a(jmp(JmpOp.JSLT, R0, 0, done), alu(AluOp.DIV, R0, 1_000_000 if args.milliseconds else 1000), mov(R7, R0))
    a(mov(R1, 0), stx(8, FP, -40, R1))
    if args.disks:
        kit.request_dev(a, R1, R6)
        a(stx(4, FP, -40, R1))
    if args.flag:
        kit.task_field(a, R1, R6, ("request", "cmd_flags"), 4, slot=-24)
        a(stx(4, FP, -36, R1))
    kit.hist_increment(a, hists.fd, zero.fd, -40, R7, SLOTS)
    a.mark(done)
    kit.map_delete(a, start.fd, -8)
    prog = s.own(a.load(ProgType.RAW_TRACEPOINT, "bio_complete"))
    s.own(RawTracepoint(prog, "block_rq_complete"))
    return hists


def print_hists(out: common.Output, hists, args: argparse.Namespace, unit: str) -> None:
    out.text("")
    when = common.Clock.hms()
    if args.timestamp:
        out.text(cfmt("%-8s", when))
    for (dev, flags), counts, _ in hist.drain(hists, KEY.unpack, SLOTS):
        label = ""
        record: dict = {"time": when}
        if args.disks:
            label += cfmt("\ndisk = %s\t", disks.dev_name(dev))
            record["disk"] = disks.dev_name(dev)
        if args.flag:
            label += "flags = " + disks.describe_flags(flags)
            record["flags"] = disks.describe_flags(flags)
        out.text(label)
        for line in hist.log2_lines(counts, unit):
            out.text(line)
        out.record(hist.hist_record(unit, counts, **record))


def run(args: argparse.Namespace) -> int:
    target = disks.dev_by_name(args.disk) if args.disk else None
    out = common.Output(args.json)
    unit = "msecs" if args.milliseconds else "usecs"
    with Session() as s:
        hists = build(s, args, target)
        out.text("Tracing block device I/O... Hit Ctrl-C to end.")
        common.ready(out)
        common.run_loop(common.sleep_ms, out, interval=args.interval, count=args.count,
                        on_interval=lambda: print_hists(out, hists, args, unit))
    return 0
