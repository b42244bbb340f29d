"""cpudist: on-CPU (or, with -O, off-CPU) time per task as a histogram (libbpf-tools' output).

    purebpf cpudist -m 5 3      # milliseconds, three 5-second summaries
    purebpf cpudist -O -P       # off-CPU time, one histogram per process

The raw tracepoint ``sched_switch`` ends one task's stint and starts the
next one's: on-CPU time runs from a task being switched in to it being
switched out, off-CPU time the other way round.  Every stint counts, however
the task left the CPU (libbpf-tools' on-CPU mode counts only tasks that were
preempted, so a task that sleeps shows nothing there).  The idle task is
not counted.
"""

from __future__ import annotations

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R8, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.errors import InvalidInputError
from purebpf.links import RawTracepoint
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, kit
from purebpf.tools.runqlat import ALL, SLOTS, print_hists
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

TS = -16  # stack slot of the switch's time


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    p.add_argument("-L", "--tids", action="store_true", help="print a histogram per thread ID")
    p.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    p.add_argument("-O", "--offcpu", action="store_true", help="measure off-CPU time")
    common.add_pid(p, help="trace this PID only")
    p.add_argument("-P", "--pids", action="store_true", help="print a histogram per process ID")
    p.add_argument("-T", "--timestamp", action="store_true", help="include timestamp on output")
    common.add_interval_count(p)
    common.add_json(p)


def _pid_of(a: kit.Asm, dst, task, tgid_filter: int | None, skip: str) -> None:
    """dst = task->pid, or go to ``skip`` for the idle task or another process."""
    kit.task_field(a, dst, task, ("task_struct", "pid"), 4, slot=-24)
    a(jmp(JmpOp.JEQ, dst, 0, skip))
    if tgid_filter is not None:
        kit.task_field(a, R1, task, ("task_struct", "tgid"), 4, slot=-24)
        a(jmp(JmpOp.JNE, R1, tgid_filter, skip))


def _start(a: kit.Asm, start_fd: int, task, tgid_filter: int | None) -> None:
    """start[task->pid] = the switch's time."""
    skip = a.fresh("nostart")
    _pid_of(a, R1, task, tgid_filter, skip)
    a(stx(4, FP, -4, R1))
    kit.map_update(a, start_fd, -4, TS)
    a.mark(skip)
    a(mov(R0, 0))


def _account(a: kit.Asm, start_fd: int, hists_fd: int, zero_fd: int, task, args: argparse.Namespace) -> None:
    """Add the time since start[task->pid] to the task's histogram."""
    skip = a.fresh("noacct")
    _pid_of(a, R6, task, args.pid, skip)
    a(stx(4, FP, -4, R6))
    kit.map_lookup(a, start_fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, skip), ldx(8, R1, R0, 0), ldx(8, R2, FP, TS), jmp(JmpOp.JLT, R2, R1, skip),
      alu(AluOp.SUB, R2, R1), alu(AluOp.DIV, R2, 1_000_000 if args.milliseconds else 1000))
    if args.pids:
        a(stx(8, FP, -32, R2))
        kit.task_field(a, R1, task, ("task_struct", "tgid"), 4, slot=-24)
        a(ldx(8, R2, FP, -32))
    elif args.tids:
        a(mov(R1, R6))
    else:
        a(mov(R1, ALL, bits=32))
    a(stx(4, FP, -8, R1), mov(R6, R2))
    comm = kit.kernel_offset("task_struct", "comm")

    def copy_comm(b: kit.Asm) -> None:
        from purebpf.asm import R9

        b(mov(R1, R9), alu(AluOp.ADD, R1, SLOTS * 4), mov(R2, 16), mov(R3, task), alu(AluOp.ADD, R3, comm),
          call("probe_read_kernel"))

    kit.hist_increment(a, hists_fd, zero_fd, -8, R6, SLOTS, on_new=copy_comm)
    a.mark(skip)
    a(mov(R0, 0))


def build(s: Session, args: argparse.Namespace) -> object:
    start = s.hash(4, 8, "cpudist_start", max_entries=32768)
    hists = s.hash(4, SLOTS * 4 + 16, "cpudist_hists")
    zero = s.map(MapType.ARRAY, 4, SLOTS * 4 + 16, 1, "cpudist_zero")
    cgroup = s.cgroup_filter(args.cgroup)
    a = kit.Asm()
    kit.filter_cgroup(a, cgroup)
    a(ldx(8, R7, R1, 8), ldx(8, R8, R1, 16), call("ktime_get_ns"), stx(8, FP, TS, R0))
    if args.offcpu:  # prev leaves the CPU: its off-CPU time starts; next's ends
        _start(a, start.fd, R7, args.pid)
        _account(a, start.fd, hists.fd, zero.fd, R8, args)
    else:
        _account(a, start.fd, hists.fd, zero.fd, R7, args)
        _start(a, start.fd, R8, args.pid)
    prog = s.own(a.load(ProgType.RAW_TRACEPOINT, "cpudist"))
    s.own(RawTracepoint(prog, "sched_switch"))
    return hists


def run(args: argparse.Namespace) -> int:
    if args.pids and args.tids:
        raise InvalidInputError("-P and -L cannot be used together: choose per process or per thread")
    common.require_process(args.pid)
    out = common.Output(args.json)
    unit = "msecs" if args.milliseconds else "usecs"
    with Session() as s:
        hists = build(s, args)
        out.text(f"Tracing {'off' if args.offcpu else 'on'}-CPU time... Hit Ctrl-C to end.")
        common.ready(out)
        common.run_loop(common.sleep_ms, out, interval=args.interval, count=args.count,
                        on_interval=lambda: print_hists(out, hists, args, unit))
    return 0
