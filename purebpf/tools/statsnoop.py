"""statsnoop: trace stat() syscalls, with the path and the result (libbpf-tools' columns).

    purebpf statsnoop -x -p 1234     # failed stats of process 1234

``sys_enter_{statfs,newstat,statx,newfstatat,newlstat}`` keep the path
pointer per thread; the matching ``sys_exit_*`` sends PID, COMM, RET (0 or
-1), ERR and the path read at exit, as libbpf-tools does.
"""

from __future__ import annotations

import struct

from purebpf.asm import R0, R1, R2, R3, R6, R7, R8, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.sys.fs import tracepoint_id
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SYSCALLS = {"statfs": "pathname", "newstat": "filename", "statx": "filename", "newfstatat": "filename",
            "newlstat": "filename"}
EVENT = struct.Struct("<QIi16s")  # ts pid ret comm, then the path
PATH_MAX = 256


def arguments(p: argparse.ArgumentParser) -> None:
    common.add_pid(p, help="process ID to trace")
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-x", "--failed", action="store_true", help="only show failed stats")
    common.add_duration(p)
    common.add_json(p)


def _exists(name: str) -> bool:
    try:
        tracepoint_id("syscalls", name)
        return True
    except Exception:  # noqa: BLE001 - absent tracepoint: no such syscall here
        return False


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    stash = s.hash(4, 8, "stat_start")
    for name, field in SYSCALLS.items():
        if not _exists(f"sys_enter_{name}"):
            continue
        a = kit.Asm()
        a(mov(R8, R1))
        kit.pid_tgid(a, R7)
        kit.filter_task(a, R7, tgid=args.pid)
        kit.stash_args(a, stash.fd, R8, [(kit.tp_fields("syscalls", f"sys_enter_{name}")[field].offset, 8, False)])
        s.tracepoint(a.load(ProgType.TRACEPOINT, f"stat_{name}"), "syscalls", f"sys_enter_{name}")

        a = kit.Asm()
        cleanup = a.fresh("cleanup")
        a(mov(R6, R1))
        kit.take_stash(a, stash.fd, R7)
        a(ldx(8, R8, R6, kit.tp_fields("syscalls", f"sys_exit_{name}")["ret"].offset))
        if args.failed:
            a(jmp(JmpOp.JSGE, R8, 0, cleanup))
        kit.reserve(a, ring_fd, EVENT.size + PATH_MAX, R6, drops, cleanup)
        a(call("ktime_get_ns"), stx(8, R6, 0, R0))
        kit.pid_tgid(a, R0)
        a(alu(AluOp.RSH, R0, 32), stx(4, R6, 8, R0), stx(4, R6, 12, R8))
        a(mov(R1, R6), alu(AluOp.ADD, R1, 16), mov(R2, 16), call("get_current_comm"))
        a(mov(R1, R6), alu(AluOp.ADD, R1, EVENT.size), mov(R2, PATH_MAX), ldx(8, R3, R7, 0),
          call("probe_read_user_str"))
        kit.submit(a, R6)
        a.mark(cleanup)
        kit.map_delete(a, stash.fd, -4)
        s.tracepoint(a.load(ProgType.TRACEPOINT, f"stat_x_{name}"), "syscalls", f"sys_exit_{name}")


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)
    first: list[int] = []

    def on_event(data: bytes) -> None:
        ts, pid, ret, comm = EVENT.unpack_from(data)
        if not first:
            first.append(ts)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        path = data[EVENT.size:].split(b"\0", 1)[0].decode(errors="replace")
        fd, err = (ret, 0) if ret >= 0 else (-1, -ret)
        line = ""
        record: dict = {}
        if args.timestamp:
            record["time"] = round((ts - first[0]) / 1e9, 9)
            line += cfmt("%-14.9f ", (ts - first[0]) / 1e9)
        record.update(pid=pid, comm=comm, ret=fd, err=err, path=path)
        out.row(line + cfmt("%-7d %-20s %-4d %-4d %-s", pid, comm, fd, err, path), record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = cfmt("%-14s ", "TIME(s)") if args.timestamp else ""
        out.header(head + cfmt("%-7s %-20s %-4s %-4s %-s", "PID", "COMM", "RET", "ERR", "PATH"))
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
