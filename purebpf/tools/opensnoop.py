"""opensnoop: trace open(), openat() and openat2(), with libbpf-tools' columns.

    purebpf opensnoop -x -p 1234     # failed opens of process 1234

Each ``sys_enter_open*`` keeps the path pointer and flags per thread; the
matching ``sys_exit_*`` sends PID, COMM, FD (or -1) and ERR with the path read
at exit time, as libbpf-tools does.  Paths are cut at 254 bytes (NAME_MAX).
"""

from __future__ import annotations

import struct

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R8, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.sys.fs import tracepoint_id
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

    from purebpf.programs import Program

NAME_MAX = 255
EVENT = struct.Struct("<IIiII4x16s")  # pid uid ret flags mode comm, then the path
PATH_OFF = EVENT.size
EVENT_SIZE = PATH_OFF + 256


def arguments(p: argparse.ArgumentParser) -> None:
    common.add_duration(p)
    p.add_argument("-e", "--extended-fields", dest="extended", action="store_true", help="print extended fields")
    p.add_argument("-n", "--name", help="trace process names containing this")
    common.add_pid(p, "-p", "--pid", help="process ID to trace")
    p.add_argument("-t", "--tid", type=common.positive_int, help="thread ID to trace")
    p.add_argument("-T", "--timestamp", action="store_true", help="print timestamp")
    p.add_argument("-u", "--uid", type=common.non_negative_int, help="user ID to trace")
    p.add_argument("-U", "--print-uid", action="store_true", help="print UID")
    p.add_argument("-x", "--failed", action="store_true", help="failed opens only")
    common.add_json(p)


def _exists(name: str) -> bool:
    try:
        tracepoint_id("syscalls", name)
        return True
    except Exception:  # noqa: BLE001 - absent tracepoint: the syscall does not exist here
        return False


def _enter(s: Session, args: argparse.Namespace, stash_fd: int, name: str) -> None:
    f = kit.tp_fields("syscalls", f"sys_enter_{name}")
    a = kit.Asm()
    a(mov(R6, R1))
    kit.pid_tgid(a, R7)
    kit.filter_task(a, R7, tgid=args.pid, tid=args.tid, uid=args.uid)
    a(stx(4, FP, -4, R7), ldx(8, R1, R6, f["filename"].offset), stx(8, FP, -32, R1))
    if name == "openat2":  # flags and mode live in the user's struct open_how
        a(mov(R1, FP), alu(AluOp.ADD, R1, -24), mov(R2, 16), ldx(8, R3, R6, f["how"].offset),
          call("probe_read_user"))
        a(jmp(JmpOp.JNE, R0, 0, a.out))
    else:
        a(ldx(8, R1, R6, f["flags"].offset), stx(8, FP, -24, R1), ldx(8, R1, R6, f["mode"].offset),
          stx(8, FP, -16, R1))
    kit.map_update(a, stash_fd, -4, -32)
    s.tracepoint(a.load(ProgType.TRACEPOINT, f"open_{name}"), "syscalls", f"sys_enter_{name}")


def _exit(s: Session, args: argparse.Namespace, stash_fd: int, ring_fd: int, drops, ret_offset: int) -> Program:
    """The one sys_exit_* program: the exits' records differ in nothing it reads."""
    a = kit.Asm()
    cleanup = a.fresh("cleanup")
    a(mov(R6, R1))
    kit.take_stash(a, stash_fd, R7)
    a(ldx(8, R8, R6, ret_offset))
    if args.failed:
        a(jmp(JmpOp.JSGE, R8, 0, cleanup))
    kit.reserve(a, ring_fd, EVENT_SIZE, R6, drops, cleanup)
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(4, R6, 0, R0))
    kit.current_uid(a, R0)
    a(stx(4, R6, 4, R0), stx(4, R6, 8, R8), ldx(8, R1, R7, 8), stx(4, R6, 12, R1), ldx(8, R1, R7, 16),
      stx(4, R6, 16, R1), mov(R1, R6), alu(AluOp.ADD, R1, 24), mov(R2, 16), call("get_current_comm"))
    a(mov(R1, R6), alu(AluOp.ADD, R1, PATH_OFF), mov(R2, NAME_MAX), ldx(8, R3, R7, 0),
      call("probe_read_user_str"))
    kit.submit(a, R6)
    a.mark(cleanup)
    kit.map_delete(a, stash_fd, -4)
    return a.load(ProgType.TRACEPOINT, "open_exit")


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    """An enter program per syscall (their records differ) and one exit program
    attached to every sys_exit_* whose ``ret`` sits where the first one's does
    (one load instead of three)."""
    stash = s.hash(4, 24, "open_start")  # path pointer, flags, mode
    exits: dict[int, Program] = {}  # ret offset -> the exit program reading it
    for name in ("open", "openat", "openat2"):
        if _exists(f"sys_enter_{name}"):
            _enter(s, args, stash.fd, name)
            ret = kit.tp_fields("syscalls", f"sys_exit_{name}")["ret"].offset
            if ret not in exits:
                exits[ret] = _exit(s, args, stash.fd, ring_fd, drops, ret)
            s.tracepoint(exits[ret], "syscalls", f"sys_exit_{name}")


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    common.require_thread(args.tid)
    out = common.Output(args.json)

    def on_event(data: bytes) -> None:
        pid, uid, ret, flags, mode, comm = EVENT.unpack_from(data)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        if args.name and args.name not in comm:
            return
        path = data[PATH_OFF:].split(b"\0", 1)[0].decode(errors="replace")
        fd, err = (ret, 0) if ret >= 0 else (-1, -ret)
        line = ""
        record: dict = {}
        if args.timestamp:
            record["time"] = common.Clock.hms()
            line += cfmt("%-8s ", record["time"])
        if args.print_uid:
            line += cfmt("%-7d ", uid)
        line += cfmt("%-6d %-16s %3d %3d ", pid, comm, fd, err)
        if args.extended:
            line += cfmt("%08o ", flags)
        record.update(uid=uid, pid=pid, comm=comm, fd=fd, err=err, flags=flags, path=path)
        out.row(line + path, record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = ""
        if args.timestamp:
            head += cfmt("%-8s ", "TIME")
        if args.print_uid:
            head += cfmt("%-7s ", "UID")
        head += cfmt("%-6s %-16s %3s %3s ", "PID", "COMM", "FD", "ERR")
        if args.extended:
            head += cfmt("%-8s ", "FLAGS")
        out.header(head + "PATH")
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
