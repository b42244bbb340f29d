"""biotop: block I/O by process, top-like, at an interval (libbpf-tools' columns).

    purebpf biotop -C 5 10       # ten 5-second summaries, without clearing the screen

The block tracepoints biosnoop uses (``block_io_start``, ``block_rq_issue``,
``block_rq_complete``) send one record per completed request: the task that
submitted it, the disk, the direction and the size.  Each interval sums them
per (PID, COMM, direction, disk): I/O count, Kbytes and average time from
issue to completion (AVGms), largest first.  Requests without a submitting
task (flushes sent by a driver's worker) show as PID 0 with no COMM.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from purebpf.tools import biosnoop, common, disks
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SORTS = ("all", "io", "bytes", "time")
CLEAR = "\033[H\033[2J"
REQ_OP_MASK = 0xFF
REQ_OP_WRITE = 1


@dataclass
class Usage:
    io: int = 0
    bytes: int = 0
    us: int = 0


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-C", "--noclear", action="store_true", help="don't clear the screen")
    p.add_argument("-r", "--rows", type=common.positive_int, default=20, help="maximum rows to print, default 20")
    p.add_argument("-s", "--sort", choices=SORTS, default="all", help="sort columns, default all")
    p.add_argument("interval", nargs="?", type=common.positive_int, default=1,
                   help="print a summary every INTERVAL seconds (default 1)")
    p.add_argument("count", nargs="?", type=common.positive_int, help="stop after COUNT summaries")
    common.add_json(p)


def sort_key(sort: str):
    """Largest first by the chosen column; "all" sums the three as libbpf-tools does."""
    def key(item: tuple[tuple, Usage]) -> int:
        u = item[1]
        return {"io": u.io, "bytes": u.bytes, "time": u.us}.get(sort, u.io + u.bytes + u.us)
    return key


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return ""


def run(args: argparse.Namespace) -> int:
    out = common.Output(args.json)
    usage: dict[tuple[int, str, str, int], Usage] = {}

    def on_event(data: bytes) -> None:
        _ts, delta, _q, _sector, length, pid, dev, flags, comm = biosnoop.EVENT.unpack(data)
        rw = "W" if flags & REQ_OP_MASK == REQ_OP_WRITE else "R"
        u = usage.setdefault((pid, comm.split(b"\0", 1)[0].decode(errors="replace"), rw, dev), Usage())
        u.io += 1
        u.bytes += length
        u.us += delta // 1000

    def summary() -> None:
        now = common.Clock.hms()
        if not args.json:
            if not args.noclear:
                out.stream.write(CLEAR)
            out.text(cfmt("%8s loadavg: %s\n", now, _loadavg()))
            out.text(cfmt("%-7s %-16s %1s %-3s %-3s %-8s %5s %7s %6s", "PID", "COMM", "D", "MAJ", "MIN", "DISK",
                          "I/O", "Kbytes", "AVGms"))
        rows = sorted(usage.items(), key=sort_key(args.sort), reverse=True)[:args.rows]
        for (pid, comm, rw, dev), u in rows:
            major, minor = dev >> disks.MINOR_BITS, dev & ((1 << disks.MINOR_BITS) - 1)
            disk = disks.partitions().get(dev, "?")
            avg_ms = u.us / 1000 / u.io
            out.row(cfmt("%-7d %-16s %1s %-3d %-3d %-8s %5d %7d %6.2f", pid, comm, rw, major, minor, disk, u.io,
                         u.bytes // 1024, avg_ms),
                    {"time": now, "pid": pid, "comm": comm, "dir": rw, "major": major, "minor": minor, "disk": disk,
                     "io": u.io, "kbytes": u.bytes // 1024, "bytes": u.bytes, "avg_ms": round(avg_ms, 3)})
        out.text("")
        usage.clear()

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        biosnoop.build(s, SimpleNamespace(cgroup=None, queued=False), None, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)

        def tick() -> None:
            reader.consume()
            summary()

        common.ready(out)
        common.run_loop(reader.poll, out, interval=args.interval, count=args.count, on_interval=tick)
        common.report_lost(reader)
    return 0
