"""offcputime: time spent off CPU (blocked), by stack (libbpf-tools' flags, bcc's -f folded output).

    purebpf offcputime -p 1234 -f 10        # folded stacks for flame graphs, 10 seconds
    purebpf offcputime -m 1000 --svg off.svg

The raw tracepoint ``sched_switch`` runs in the task leaving the CPU: it
takes that task's kernel and user stack ids (``bpf_get_stackid`` into a
stack trace map) and stamps the time; when the task is switched back in,
the time it was away is added (in microseconds) to its (pid, tgid, stacks)
total.  Symbols are resolved at the end, as in profile.
"""

from __future__ import annotations

import struct

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R6,
    R7,
    R8,
    AluOp,
    AtomicOp,
    JmpOp,
    alu,
    atomic,
    call,
    jmp,
    ld_map_fd,
    ldx,
    mov,
    stx,
)
from purebpf.errors import InvalidInputError
from purebpf.links import RawTracepoint
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, kit, stacks
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

KEY = struct.Struct("<IIii")  # pid, tgid, user stack id, kernel stack id
VALUE = struct.Struct("<Q16s")  # microseconds off CPU, comm
PF_KTHREAD = 0x00200000
U64_MAX = (1 << 64) - 1


def arguments(p: argparse.ArgumentParser) -> None:
    common.add_pid(p, help="trace this PID only")
    p.add_argument("-t", "--tid", type=common.positive_int, help="trace this TID only")
    p.add_argument("-u", "--user-threads-only", action="store_true", help="user threads only (no kernel threads)")
    p.add_argument("-k", "--kernel-threads-only", action="store_true", help="kernel threads only (no user threads)")
    p.add_argument("-U", "--user-stacks-only", action="store_true", help="show stacks from user space only")
    p.add_argument("-K", "--kernel-stacks-only", action="store_true", help="show stacks from kernel space only")
    p.add_argument("-m", "--min-block-time", type=common.non_negative_int, default=1,
                   help="the amount of time in microseconds over which we store traces (default 1)")
    p.add_argument("-M", "--max-block-time", type=common.positive_int, default=U64_MAX,
                   help="the amount of time in microseconds under which we store traces (default U64_MAX)")
    p.add_argument("--state", type=common.non_negative_int,
                   help="filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE)")
    p.add_argument("-f", "--folded", action="store_true", help="output folded format, one line per stack")
    p.add_argument("-d", "--delimited", action="store_true", help="insert delimiter between kernel/user stacks")
    p.add_argument("--perf-max-stack-depth", type=common.positive_int, default=127,
                   help="the limit for both kernel and user stack traces (default 127)")
    p.add_argument("--stack-storage-size", type=common.positive_int, default=1024,
                   help="the number of unique stack traces that can be stored and displayed (default 1024)")
    p.add_argument("--svg", metavar="FILE", help="also write an SVG flame graph to FILE")
    p.add_argument("duration", nargs="?", type=common.positive_int, help="duration of trace, in seconds")
    common.add_json(p)


def _allowed(a: kit.Asm, task, args: argparse.Namespace, skip: str) -> None:
    """Go to ``skip`` unless ``task`` passes the filters (r0-r5 clobbered)."""
    for value, member in ((args.pid, "tgid"), (args.tid, "pid")):
        if value is not None:
            kit.task_field(a, R1, task, ("task_struct", member), 4, slot=-56)
            a(jmp(JmpOp.JNE, R1, value, skip))
    if args.user_threads_only or args.kernel_threads_only:
        kit.task_field(a, R1, task, ("task_struct", "flags"), 4, slot=-56)
        a(alu(AluOp.AND, R1, PF_KTHREAD), jmp(JmpOp.JNE if args.user_threads_only else JmpOp.JEQ, R1, 0, skip))
    if args.state is not None:
        kit.task_field(a, R1, task, kit.task_state_offset(), 4, slot=-56)
        a(jmp(JmpOp.JNE, R1, args.state, skip))


def build(s: Session, args: argparse.Namespace) -> tuple[object, object, RawTracepoint]:
    start = s.hash(4, 8 + KEY.size, "offcpu_start")
    info = s.hash(KEY.size, VALUE.size, "offcpu_info")
    stackmap = s.map(MapType.STACK_TRACE, 4, 8 * args.perf_max_stack_depth, args.stack_storage_size,
                     "offcpu_stacks")
    comm = kit.kernel_offset("task_struct", "comm")
    # stack: FP-24 start time + key (pid -16, tgid -12, user stack -8, kernel stack -4), FP-48 value
    a = kit.Asm()
    a(mov(R6, R1), ldx(8, R7, R6, 8), ldx(8, R8, R6, 16))
    stamped = a.fresh("stamped")
    _allowed(a, R7, args, stamped)
    kit.task_field(a, R1, R7, ("task_struct", "pid"), 4, slot=-56)
    have_pid = a.fresh("pid")
    a(jmp(JmpOp.JNE, R1, 0, have_pid), call("get_smp_processor_id"), mov(R1, R0))  # idle: one per CPU
    a.mark(have_pid)
    a(stx(4, FP, -16, R1))
    kit.task_field(a, R1, R7, ("task_struct", "tgid"), 4, slot=-56)
    a(stx(4, FP, -12, R1))
    a(mov(R0, -1), stx(4, FP, -8, R0), stx(4, FP, -4, R0))
    if not args.kernel_stacks_only:
        kthread = a.fresh("kthread")
        kit.task_field(a, R1, R7, ("task_struct", "flags"), 4, slot=-56)
        a(alu(AluOp.AND, R1, PF_KTHREAD), jmp(JmpOp.JNE, R1, 0, kthread))
        a(mov(R1, R6), ld_map_fd(R2, stackmap.fd), mov(R3, kit.BPF_F_USER_STACK), call("get_stackid"),
          stx(4, FP, -8, R0))
        a.mark(kthread)
        a(mov(R0, 0))
    if not args.user_stacks_only:
        a(mov(R1, R6), ld_map_fd(R2, stackmap.fd), mov(R3, 0), call("get_stackid"), stx(4, FP, -4, R0))
    a(call("ktime_get_ns"), stx(8, FP, -24, R0))
    kit.map_update(a, start.fd, -16, -24)
    a(mov(R1, 0), stx(8, FP, -48, R1), stx(8, FP, -40, R1), stx(8, FP, -32, R1))
    a(mov(R1, FP), alu(AluOp.ADD, R1, -40), mov(R2, 16), mov(R3, R7), alu(AluOp.ADD, R3, comm),
      call("probe_read_kernel"))
    kit.map_update(a, info.fd, -16, -48, kit.MAP_NOEXIST)
    a.mark(stamped)

    kit.task_field(a, R1, R8, ("task_struct", "pid"), 4, slot=-56)
    a(stx(4, FP, -52, R1))
    kit.map_lookup(a, start.fd, -52)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R7, R0))
    cleanup = a.fresh("cleanup")
    a(call("ktime_get_ns"), ldx(8, R1, R7, 0), alu(AluOp.SUB, R0, R1), jmp(JmpOp.JSLT, R0, 0, cleanup),
      alu(AluOp.DIV, R0, 1000), jmp(JmpOp.JLT, R0, args.min_block_time, cleanup))
    if args.max_block_time < 1 << 31:
        a(jmp(JmpOp.JGT, R0, args.max_block_time, cleanup))
    a(mov(R8, R0))
    a(ldx(8, R1, R7, 8), stx(8, FP, -16, R1), ldx(8, R1, R7, 16), stx(8, FP, -8, R1))
    kit.map_lookup(a, info.fd, -16)
    a(jmp(JmpOp.JEQ, R0, 0, cleanup), atomic(AtomicOp.ADD, 8, R0, 0, R8))
    a.mark(cleanup)
    kit.map_delete(a, start.fd, -52)
    prog = s.own(a.load(ProgType.RAW_TRACEPOINT, "offcputime"))
    link = s.own(RawTracepoint(prog, "sched_switch"))
    return info, stackmap, link


def collect(info, stackmap) -> list[stacks.Sample]:
    def rows():
        for raw_key, raw_value in info.items_raw():
            pid, tgid, uid, kid = KEY.unpack(raw_key)
            delta, comm = VALUE.unpack(raw_value)
            if delta:
                yield pid, tgid, comm, kid, uid, delta

    return stacks.merge(stackmap, rows())


def run(args: argparse.Namespace) -> int:
    if args.user_threads_only and args.kernel_threads_only:
        raise InvalidInputError("-u and -k cannot be used together: give one, or neither for all threads")
    if args.user_stacks_only and args.kernel_stacks_only:
        raise InvalidInputError("-U and -K cannot be used together: give one, or neither for both stacks")
    if args.min_block_time >= args.max_block_time:
        raise InvalidInputError(f"-m {args.min_block_time} must be smaller than -M {args.max_block_time}")
    common.require_process(args.pid)
    common.require_thread(args.tid)
    return stacks.count_stacks(
        args, "Tracing off-CPU time (us)", "offcputime", lambda s: build(s, args),
        lambda out, info, stackmap: stacks.report(out, collect(info, stackmap), folded=args.folded,
                                                  delimit=args.delimited, annotate=False, separator=args.delimited))
