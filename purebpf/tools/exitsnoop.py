"""exitsnoop: trace process exits, with exit code or signal and age (libbpf-tools' columns).

    purebpf exitsnoop -x        # only exits with a non-zero code or a signal

``sched_process_exit`` fires in the exiting task: the program reads
``task->exit_code`` (code << 8 | signal, with 0x80 for a core dump),
``task->start_time`` for AGE(s) and ``task->real_parent->tgid`` for PPID,
with offsets from the kernel's BTF.  By default only whole processes
(the thread group leader) are shown; -T shows every thread.
"""

from __future__ import annotations

import signal
import struct

from purebpf.asm import R0, R1, R2, R6, R7, R8, R9, AluOp, JmpOp, alu, call, jmp, mov, stx
from purebpf.programs import ProgType
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

EVENT = struct.Struct("<IIIIiiQQ16s")  # pid tid ppid sig exit_code (pad) start exit comm


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    common.add_pid(p, help="process ID to trace")
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-T", "--threaded", action="store_true", help="trace by thread")
    p.add_argument("-x", "--failed", action="store_true", help="trace error exits only")
    common.add_json(p)


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    exit_code = kit.kernel_offset("task_struct", "exit_code")
    start_time = kit.kernel_offset("task_struct", "start_time")
    parent = kit.kernel_offset("task_struct", "real_parent")
    tgid = kit.kernel_offset("task_struct", "tgid")
    cgroup = s.cgroup_filter(args.cgroup)

    a = kit.Asm()
    kit.filter_cgroup(a, cgroup)
    kit.pid_tgid(a, R7)
    kit.filter_task(a, R7, tgid=args.pid)
    if not args.threaded:  # whole processes only: the leader's exit
        a(mov(R1, R7), alu(AluOp.RSH, R1, 32), mov(R0, R7, bits=32), jmp(JmpOp.JNE, R0, R1, a.out))
    a(call("get_current_task"), mov(R8, R0))
    kit.read_kernel_chain(a, R9, R8, [(exit_code, 4)])
    if args.failed:
        a(jmp(JmpOp.JEQ, R9, 0, a.out, bits=32))
    kit.reserve(a, ring_fd, EVENT.size, R6, drops, a.out)
    a(mov(R1, R7), alu(AluOp.RSH, R1, 32), stx(4, R6, 0, R1), stx(4, R6, 4, R7))
    a(mov(R1, R9), alu(AluOp.AND, R1, 0xFF), stx(4, R6, 12, R1))
    a(mov(R1, R9), alu(AluOp.RSH, R1, 8, bits=32), stx(4, R6, 16, R1))
    kit.read_kernel_chain(a, R1, R8, [(parent, 8), (tgid, 4)])
    a(stx(4, R6, 8, R1))
    kit.read_kernel_chain(a, R1, R8, [(start_time, 8)])
    a(stx(8, R6, 24, R1), call("ktime_get_ns"), stx(8, R6, 32, R0))
    a(mov(R1, R6), alu(AluOp.ADD, R1, 40), mov(R2, 16), call("get_current_comm"))
    kit.submit(a, R6)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "exitsnoop"), "sched", "sched_process_exit")


def describe(code: int, sig: int) -> str:
    """EXIT_CODE as libbpf-tools words it."""
    if not sig:
        return cfmt("code %d", code) if code else "0"
    text = ""
    if sig & 0x7F:
        text = cfmt("signal %d (%s)", sig & 0x7F, signal.strsignal(sig & 0x7F) or f"Unknown signal {sig & 0x7F}")
    if sig & 0x80:
        text += ", core dumped"
    return text


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)

    def on_event(data: bytes) -> None:
        pid, tid, ppid, sig, code, _, start, end, comm = EVENT.unpack(data)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        age = (end - start) / 1e9
        line = ""
        record: dict = {}
        if args.timestamp:
            record["time"] = common.Clock.hms()
            line += cfmt("%8s ", record["time"])
        line += cfmt("%-16s %-7d %-7d %-7d %-7.2f ", comm, pid, ppid, tid, age) + describe(code, sig)
        record.update(pcomm=comm, pid=pid, ppid=ppid, tid=tid, age=round(age, 6), exit_code=code,
                      signal=sig & 0x7F, core_dumped=bool(sig & 0x80))
        out.row(line, record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = cfmt("%-8s ", "TIME(s)") if args.timestamp else ""
        out.header(head + cfmt("%-16s %-7s %-7s %-7s %-7s %-s", "PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"))
        common.ready(out)
        common.run_loop(reader.poll, out)
        reader.consume()
        common.report_lost(reader)
    return 0
