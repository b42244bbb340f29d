"""runqlat: run queue (scheduler) latency as a histogram (libbpf-tools' output).

    purebpf runqlat -m 5 3     # milliseconds, three 5-second summaries
    purebpf runqlat -P         # one histogram per process

A task's wait starts when it is woken (``sched_wakeup``, ``sched_wakeup_new``)
or preempted while runnable (``sched_switch`` with ``prev->__state`` 0) and
ends when ``sched_switch`` puts it on a CPU.  Raw tracepoints give the task
pointers; pid, tgid, state and comm are read through BTF offsets.
"""

from __future__ import annotations

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R8, R9, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.errors import InvalidInputError
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, hist, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

SLOTS = 26
ALL = 0xFFFFFFFF


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    p.add_argument("-L", "--tids", action="store_true", help="print a histogram per thread ID")
    p.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    common.add_pid(p, help="trace this PID only")
    p.add_argument("-P", "--pids", action="store_true", help="print a histogram per process ID")
    p.add_argument("-T", "--timestamp", action="store_true", help="include timestamp on output")
    common.add_interval_count(p)
    common.add_json(p)


def _enqueue(a: kit.Asm, start_fd: int, task, tgid_filter: int | None) -> None:
    """start[task->pid] = now, unless pid 0 (idle) or filtered out; r6-r8 kept."""
    skip = a.fresh("skip")
    kit.task_field(a, R9, task, ("task_struct", "pid"), 4, slot=-16)
    a(jmp(JmpOp.JEQ, R9, 0, skip))
    if tgid_filter is not None:
        kit.task_field(a, R1, task, ("task_struct", "tgid"), 4, slot=-16)
        a(jmp(JmpOp.JNE, R1, tgid_filter, skip))
    a(stx(4, FP, -4, R9), call("ktime_get_ns"), stx(8, FP, -16, R0))
    kit.map_update(a, start_fd, -4, -16)
    a.mark(skip)
    a(mov(R0, 0))


def build(s: Session, args: argparse.Namespace) -> object:
    start = s.hash(4, 8, "runq_start")
    hists = s.hash(4, SLOTS * 4 + 16, "runq_hists")
    zero = s.map(MapType.ARRAY, 4, SLOTS * 4 + 16, 1, "runq_zero")
    cgroup = s.cgroup_filter(args.cgroup)

    for name in ("sched_wakeup", "sched_wakeup_new"):
        a = kit.Asm()
        kit.filter_cgroup(a, cgroup)
        a(ldx(8, R6, R1, 0))
        _enqueue(a, start.fd, R6, args.pid)
        prog = a.load(ProgType.RAW_TRACEPOINT, f"rq_{name[6:]}")
        s.own(prog)
        from purebpf.links import RawTracepoint

        s.own(RawTracepoint(prog, name))

    a = kit.Asm()
    kit.filter_cgroup(a, cgroup)
    a(ldx(8, R7, R1, 8), ldx(8, R8, R1, 16))
    kit.task_field(a, R1, R7, kit.task_state_offset(), 4, slot=-16)
    runnable = a.fresh("next")
    a(jmp(JmpOp.JNE, R1, 0, runnable, bits=32))
    _enqueue(a, start.fd, R7, args.pid)
    a.mark(runnable)
    kit.task_field(a, R6, R8, ("task_struct", "pid"), 4, slot=-16)
    a(jmp(JmpOp.JEQ, R6, 0, a.out), stx(4, FP, -4, R6))
    kit.map_lookup(a, start.fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), ldx(8, R7, R0, 0), call("ktime_get_ns"), alu(AluOp.SUB, R0, R7),
      jmp(JmpOp.JSLT, R0, 0, a.out), alu(AluOp.DIV, R0, 1_000_000 if args.milliseconds else 1000), mov(R7, R0))
    kit.map_delete(a, start.fd, -4)
    if args.pids:
        kit.task_field(a, R1, R8, ("task_struct", "tgid"), 4, slot=-16)
    elif args.tids:
        a(mov(R1, R6))
    else:
        a(mov(R1, ALL, bits=32))
    a(stx(4, FP, -8, R1))
    comm = kit.kernel_offset("task_struct", "comm")

    def copy_comm(b: kit.Asm) -> None:
        b(mov(R1, R9), alu(AluOp.ADD, R1, SLOTS * 4), mov(R2, 16), mov(R3, R8), alu(AluOp.ADD, R3, comm),
          call("probe_read_kernel"))

    kit.hist_increment(a, hists.fd, zero.fd, -8, R7, SLOTS, on_new=copy_comm)
    prog = a.load(ProgType.RAW_TRACEPOINT, "rq_switch")
    s.own(prog)
    from purebpf.links import RawTracepoint

    s.own(RawTracepoint(prog, "sched_switch"))
    return hists


def print_hists(out: common.Output, hists, args: argparse.Namespace, unit: str) -> None:
    out.text("")
    when = common.Clock.hms()
    if args.timestamp:
        out.text(cfmt("%-8s", when))
    label = "pid" if args.pids else "tid" if args.tids else None
    for key, counts, (comm,) in hist.drain(hists, lambda k: int.from_bytes(k, "little"), SLOTS, tail="16s"):
        name = comm.split(b"\0", 1)[0].decode(errors="replace")
        if label:
            out.text(cfmt("\n%s = %d %s", label, key, name))
        for line in hist.log2_lines(counts, unit):
            out.text(line)
        record = {label: key, "comm": name} if label else {}
        out.record(hist.hist_record(unit, counts, time=when, **record))


def run(args: argparse.Namespace) -> int:
    if args.pids and args.tids:
        raise InvalidInputError("-P and -L cannot be used together: choose per process or per thread")
    common.require_process(args.pid)
    out = common.Output(args.json)
    unit = "msecs" if args.milliseconds else "usecs"
    with Session() as s:
        hists = build(s, args)
        out.text("Tracing run queue latency... Hit Ctrl-C to end.")
        common.ready(out)
        common.run_loop(lambda ms: common.sleep_ms(ms), out, interval=args.interval, count=args.count,
                        on_interval=lambda: print_hists(out, hists, args, unit))
    return 0
