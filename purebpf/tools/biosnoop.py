"""biosnoop: trace block I/O, one line per request, with its latency (libbpf-tools' columns).

    purebpf biosnoop -d sda -Q      # one disk, with the time queued in the OS

Raw tracepoints: ``block_io_start`` (``block_rq_insert`` before Linux 6.5)
notes the task that submitted each request, ``block_rq_insert`` (-Q) and
``block_rq_issue`` stamp it, and ``block_rq_complete`` sends one record with
the disk, the operation (T: R read, W write, F flush, S sync...), the sector,
the size and the time from issue (LAT) and from insertion to issue (QUE).
"""

from __future__ import annotations

import struct

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R9, AluOp, JmpOp, alu, call, ja, jmp, ldx, mov, stx
from purebpf.links import RawTracepoint
from purebpf.programs import ProgType
from purebpf.tools import common, disks, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

EVENT = struct.Struct("<QQqqIIII16s")  # ts delta qdelta sector len pid dev cmd_flags comm


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    p.add_argument("-d", "--disk", help="trace this disk only")
    p.add_argument("-Q", "--queued", action="store_true", help="include OS queued time in I/O time")
    p.add_argument("duration", nargs="?", type=common.positive_int, help="total duration of trace in seconds")
    common.add_json(p)


def _has_tracepoint(name: str) -> bool:
    from purebpf.sys.fs import tracepoint_id

    try:
        tracepoint_id("block", name)
        return True
    except Exception:  # noqa: BLE001 - absent on this kernel
        return False


def _attach(s: Session, a: kit.Asm, name: str, tp: str) -> None:
    prog = s.own(a.load(ProgType.RAW_TRACEPOINT, name))
    s.own(RawTracepoint(prog, tp))


def _head(a: kit.Asm, cgroup: int | None, target_dev: int | None) -> None:
    """r6 = the request (kept at FP-8 as the maps' key); leave unless it passes the filters."""
    kit.filter_cgroup(a, cgroup)
    a(ldx(8, R6, R1, 0), stx(8, FP, -8, R6))
    if target_dev is not None:
        kit.request_dev(a, R7, R6)
        a(jmp(JmpOp.JNE, R7, target_dev, a.out))


def build(s: Session, args: argparse.Namespace, target_dev: int | None, ring_fd: int, drops) -> None:
    start = s.hash(8, 16, "bio_stamps")  # insert time, issue time
    who = s.hash(8, 24, "bio_who")       # comm, pid
    cgroup = s.cgroup_filter(args.cgroup)
    comm_at = "block_io_start" if _has_tracepoint("block_io_start") else "block_rq_insert"

    a = kit.Asm()
    _head(a, cgroup, target_dev)
    a(mov(R1, FP), alu(AluOp.ADD, R1, -32), mov(R2, 16), call("get_current_comm"))
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(8, FP, -16, R0))
    kit.map_update(a, who.fd, -8, -32)
    _attach(s, a, "bio_who", comm_at)

    for tp, off in (("block_rq_insert", 0), ("block_rq_issue", 8)):
        if tp == "block_rq_insert" and not args.queued:
            continue
        a = kit.Asm()
        _head(a, cgroup, target_dev)
        kit.map_lookup(a, start.fd, -8)
        fresh = a.fresh("fresh")
        a(jmp(JmpOp.JEQ, R0, 0, fresh), mov(R6, R0), call("ktime_get_ns"), stx(8, R6, off, R0), ja(a.out))
        a.mark(fresh)
        a(mov(R1, 0), stx(8, FP, -24, R1), stx(8, FP, -16, R1), call("ktime_get_ns"), stx(8, FP, -24 + off, R0))
        kit.map_update(a, start.fd, -8, -24)
        _attach(s, a, f"bio_{tp[9:]}", tp)

    a = kit.Asm()
    cleanup = a.fresh("cleanup")
    a(ldx(8, R6, R1, 0), stx(8, FP, -8, R6))
    kit.map_lookup(a, start.fd, -8)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R9, R0), ldx(8, R1, R9, 8), jmp(JmpOp.JEQ, R1, 0, cleanup))
    kit.reserve(a, ring_fd, EVENT.size, R7, drops, cleanup)
    a(call("ktime_get_ns"), stx(8, R7, 0, R0), ldx(8, R1, R9, 8), alu(AluOp.SUB, R0, R1), stx(8, R7, 8, R0))
    queued = a.fresh("queued")
    a(mov(R3, -1), ldx(8, R2, R9, 0), jmp(JmpOp.JEQ, R2, 0, queued), ldx(8, R3, R9, 8), alu(AluOp.SUB, R3, R2))
    a.mark(queued)
    a(stx(8, R7, 16, R3))
    for member, off, size in (("__sector", 24, 8), ("__data_len", 32, 4), ("cmd_flags", 44, 4)):
        kit.task_field(a, R1, R6, ("request", member), size, slot=-16)
        a(stx(size, R7, off, R1))
    kit.request_dev(a, R1, R6)
    a(stx(4, R7, 40, R1))
    a(mov(R1, 0), stx(4, R7, 36, R1), stx(8, R7, 48, R1), stx(8, R7, 56, R1))
    kit.map_lookup(a, who.fd, -8)
    nobody = a.fresh("nobody")
    a(jmp(JmpOp.JEQ, R0, 0, nobody), ldx(4, R1, R0, 16), stx(4, R7, 36, R1))
    a(mov(R2, R7), alu(AluOp.ADD, R2, 48))
    kit.copy_stack(a, R2, R0, 16)
    a.mark(nobody)
    kit.submit(a, R7)
    a.mark(cleanup)
    kit.map_delete(a, start.fd, -8)
    kit.map_delete(a, who.fd, -8)
    _attach(s, a, "bio_complete", "block_rq_complete")


def run(args: argparse.Namespace) -> int:
    target = disks.dev_by_name(args.disk) if args.disk else None
    out = common.Output(args.json)
    first: list[int] = []

    def on_event(data: bytes) -> None:
        ts, delta, qdelta, sector, length, pid, dev, flags, comm = EVENT.unpack(data)
        if not first:
            first.append(ts)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        disk, rw, t = disks.dev_name(dev), disks.rwbs(flags), (ts - first[0]) / 1e9
        line = cfmt("%-11.6f %-14.14s %-7d %-7s %-4s %-10d %-7d ", t, comm, pid, disk, rw, sector, length)
        record = {"time": round(t, 6), "comm": comm, "pid": pid, "disk": disk, "type": rw, "sector": sector,
                  "bytes": length}
        if args.queued:
            line += cfmt("%7.3f ", qdelta / 1e6 if qdelta != -1 else -1)
            record["queued_ms"] = qdelta / 1e6 if qdelta != -1 else None
        record["latency_ms"] = delta / 1e6
        out.row(line + cfmt("%7.3f", delta / 1e6), record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, target, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = cfmt("%-11s %-14s %-7s %-7s %-4s %-10s %-7s ", "TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES")
        out.header(head + (cfmt("%7s ", "QUE(ms)") if args.queued else "") + cfmt("%7s", "LAT(ms)"))
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
