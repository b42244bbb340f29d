"""profile: sample stacks on CPU at a fixed frequency (libbpf-tools' flags).

    purebpf profile -F 99 -f 10            # folded stacks for 10 seconds
    purebpf profile -p 1234 --svg out.svg  # a flame graph of one process

A perf event (cpu-clock) on every CPU runs a program that records the
kernel and user stack ids (``bpf_get_stackid`` into a stack trace map) and
counts samples per (pid, kernel stack, user stack, comm).  Symbols are
resolved at the end: processes that exited by then show ``[unknown]`` frames.
"""

from __future__ import annotations

import struct

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, AluOp, alu, call, ld_map_fd, mov, stx
from purebpf.links import PerfEvent
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.sys.perf import PerfType, SoftwareEvent
from purebpf.tools import common, kit, stacks
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

KEY = struct.Struct("<Iii4x16s")  # pid, kernel stack id, user stack id, comm
MAX_DEPTH = 127


def arguments(p: argparse.ArgumentParser) -> None:
    common.add_pid(p, help="profile process with this PID only")
    p.add_argument("-L", "--tid", type=common.positive_int, help="profile thread with this TID only")
    p.add_argument("-U", "--user-stacks-only", action="store_true", help="show stacks from user space only")
    p.add_argument("-K", "--kernel-stacks-only", action="store_true", help="show stacks from kernel space only")
    p.add_argument("-I", "--include-idle", action="store_true", help="include CPU idle stacks")
    p.add_argument("-F", "--frequency", type=common.positive_int, default=49, help="sample frequency, Hz (49)")
    p.add_argument("-f", "--folded", action="store_true", help="output folded format, one line per stack")
    p.add_argument("-d", "--delimited", action="store_true", help="insert delimiter between kernel/user stacks")
    p.add_argument("-a", "--annotations", action="store_true", help="add _[k] annotations to kernel frames")
    p.add_argument("--stack-storage-size", type=common.positive_int, default=16384,
                   help="the number of unique stack traces that can be stored (16384)")
    p.add_argument("--svg", metavar="FILE", help="also write an SVG flame graph to FILE")
    p.add_argument("duration", nargs="?", type=common.positive_int, help="duration of trace, in seconds")
    common.add_json(p)


def build(s: Session, args: argparse.Namespace) -> tuple[object, object, PerfEvent]:
    counts = s.hash(KEY.size, 8, "profile_counts")
    stackmap = s.map(MapType.STACK_TRACE, 4, 8 * MAX_DEPTH, args.stack_storage_size, "profile_stacks")
    a = kit.Asm()
    a(mov(R6, R1))
    kit.pid_tgid(a, R7)
    if not args.include_idle:
        a(mov(R1, R7, bits=32))
        a(kit.jmp(kit.JmpOp.JEQ, R1, 0, a.out))
    kit.filter_task(a, R7, tgid=args.pid, tid=args.tid)
    a(mov(R1, R7), alu(AluOp.RSH, R1, 32), stx(4, FP, -32, R1), mov(R1, 0), stx(4, FP, -20, R1))
    for off, flags, skip in ((-28, 0, args.user_stacks_only), (-24, kit.BPF_F_USER_STACK, args.kernel_stacks_only)):
        if skip:
            a(mov(R0, -1), stx(4, FP, off, R0))
            continue
        a(mov(R1, R6), ld_map_fd(R2, stackmap.fd), mov(R3, flags), call("get_stackid"), stx(4, FP, off, R0))
    a(mov(R1, FP), alu(AluOp.ADD, R1, -16), mov(R2, 16), call("get_current_comm"))
    kit.counter_add(a, counts.fd, -32, 1, -40)
    prog = s.own(a.load(ProgType.PERF_EVENT, "profile"))
    sampling = s.own(PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=args.frequency))
    return counts, stackmap, sampling


def collect(counts, stackmap) -> list[stacks.Sample]:
    """The samples, merged by symbolized stack, by count."""
    def rows():
        for raw_key, raw_value in counts.items_raw():
            pid, kid, uid, comm = KEY.unpack(raw_key)
            yield pid, pid, comm, kid, uid, int.from_bytes(raw_value[:8], "little")

    return stacks.merge(stackmap, rows())


def report(out: common.Output, args: argparse.Namespace, samples: list[stacks.Sample]) -> list[str]:
    return stacks.report(out, samples, folded=args.folded, delimit=args.delimited, annotate=args.annotations,
                         separator=True)


def run(args: argparse.Namespace) -> int:
    if args.user_stacks_only and args.kernel_stacks_only:
        from purebpf.errors import InvalidInputError
        raise InvalidInputError("-U and -K cannot be used together: give one, or neither for both stacks")
    common.require_process(args.pid)
    common.require_thread(args.tid)
    return stacks.count_stacks(args, f"Sampling at {args.frequency} Hertz", "profile", lambda s: build(s, args),
                               lambda out, counts, stackmap: report(out, args, collect(counts, stackmap)))
