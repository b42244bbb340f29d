"""execsnoop: trace exec() syscalls, with their arguments (libbpf-tools' columns).

    purebpf execsnoop -x -T          # include failed execs, with a time column

``sys_enter_execve`` copies the path and up to ``--max-args`` arguments into a
per-thread entry; ``sys_exit_execve`` adds the return value and the (new)
command name and sends the record.  PID is the thread group, PPID the parent's
(``task->real_parent->tgid``, offsets from the kernel's BTF).  ARGS starts with
the path given to exec, as in libbpf-tools.
"""

from __future__ import annotations

import struct

from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R7,
    R8,
    R9,
    AluOp,
    JmpOp,
    alu,
    call,
    jmp,
    ld_map_fd,
    ld_map_value,
    ldx,
    mov,
    stx,
)
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, kit
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

ARG_SIZE = 128
TOTAL_MAX_ARGS = 60
DEFAULT_MAX_ARGS = 20
HEADER = struct.Struct("<IIIiII16s")  # pid ppid uid retval args_count args_size comm
ARGS_OFF = HEADER.size


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-T", "--time", action="store_true", help="include time column on output (HH:MM:SS)")
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-x", "--fails", action="store_true", help="include failed exec()s")
    p.add_argument("-u", "--uid", type=common.non_negative_int, help="trace this UID only")
    p.add_argument("-q", "--quote", action="store_true", help='add quotemarks (") around arguments')
    p.add_argument("-n", "--name", help="only print commands whose name contains NAME")
    p.add_argument("-l", "--line", help="only print commands where an argument contains LINE")
    p.add_argument("-U", "--print-uid", action="store_true", help="print UID column")
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    p.add_argument("--max-args", type=common.positive_int, default=DEFAULT_MAX_ARGS,
                   help=f"maximum number of arguments parsed and displayed (1-{TOTAL_MAX_ARGS}, default 20)")
    common.add_json(p)


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    """Load and attach the enter/exit programs."""
    total = args.max_args * ARG_SIZE
    execs = s.hash(4, ARGS_OFF + total, "execs", prealloc=False)
    zero = s.map(MapType.ARRAY, 4, ARGS_OFF + total, 1, "execs_zero")
    cgroup = s.cgroup_filter(args.cgroup)
    enter_f = kit.tp_fields("syscalls", "sys_enter_execve")
    exit_f = kit.tp_fields("syscalls", "sys_exit_execve")
    parent = kit.kernel_offset("task_struct", "real_parent")
    tgid = kit.kernel_offset("task_struct", "tgid")

    a = kit.Asm()
    a(mov(R6, R1), ldx(8, R8, R6, enter_f["filename"].offset), ldx(8, R9, R6, enter_f["argv"].offset))
    kit.filter_cgroup(a, cgroup)
    kit.pid_tgid(a, R7)
    if args.uid is not None:
        kit.current_uid(a, R0)
        a.skip_unless(R0, args.uid)
    a(stx(4, FP, -4, R7))
    a(ld_map_fd(R1, execs.fd), mov(R2, FP), alu(AluOp.ADD, R2, -4), ld_map_value(R3, zero.fd, 0),
      mov(R4, 0), call("map_update_elem"))
    kit.map_lookup(a, execs.fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R6, R0))
    a(mov(R1, R7), alu(AluOp.RSH, R1, 32), stx(4, R6, 0, R1))
    kit.current_uid(a, R0)
    a(stx(4, R6, 8, R0), call("get_current_task"))
    kit.read_kernel_chain(a, R1, R0, [(parent, 8), (tgid, 4)], slot=-16)
    a(stx(4, R6, 4, R1), mov(R7, R9))
    a(mov(R1, R6), alu(AluOp.ADD, R1, ARGS_OFF), mov(R2, ARG_SIZE), mov(R3, R8), call("probe_read_user_str"))
    done = a.fresh("done")
    a(mov(R8, 0), mov(R9, 0), jmp(JmpOp.JSLE, R0, 0, done), mov(R8, R0), mov(R9, 1))
    last = total - ARG_SIZE
    for i in range(1, args.max_args + 1):
        a(mov(R1, FP), alu(AluOp.ADD, R1, -16), mov(R2, 8), mov(R3, R7), alu(AluOp.ADD, R3, i * 8),
          call("probe_read_user"), jmp(JmpOp.JNE, R0, 0, done), ldx(8, R3, FP, -16), jmp(JmpOp.JEQ, R3, 0, done))
        if i == args.max_args:  # one more argument exists: count it so "..." is printed
            a(alu(AluOp.ADD, R9, 1))
            break
        a(jmp(JmpOp.JGT, R8, last, done), mov(R1, R6), alu(AluOp.ADD, R1, ARGS_OFF), alu(AluOp.ADD, R1, R8),
          mov(R2, ARG_SIZE), call("probe_read_user_str"), jmp(JmpOp.JSLE, R0, 0, done),
          alu(AluOp.ADD, R9, 1), alu(AluOp.ADD, R8, R0))
    a.mark(done)
    a(stx(4, R6, 16, R9), stx(4, R6, 20, R8))
    s.tracepoint(a.load(ProgType.TRACEPOINT, "execsnoop_enter"), "syscalls", "sys_enter_execve")

    a = kit.Asm()
    cleanup = a.fresh("cleanup")
    a(mov(R6, R1))
    kit.pid_tgid(a, R0)
    a(stx(4, FP, -4, R0))
    kit.map_lookup(a, execs.fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(R7, R0), ldx(8, R8, R6, exit_f["ret"].offset))
    if not args.fails:
        a(jmp(JmpOp.JSLT, R8, 0, cleanup))
    a(stx(4, R7, 12, R8), mov(R1, R7), alu(AluOp.ADD, R1, 24), mov(R2, 16), call("get_current_comm"))
    a(ldx(4, R3, R7, 20), jmp(JmpOp.JGT, R3, total, cleanup), alu(AluOp.ADD, R3, ARGS_OFF))
    kit.ringbuf_output(a, ring_fd, R7, R3)
    kit.count_drop(a, drops)
    a.mark(cleanup)
    kit.map_delete(a, execs.fd, -4)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "execsnoop_exit"), "syscalls", "sys_exit_execve")


def format_args(strings: list[str], count: int, max_args: int, quote: bool) -> str:
    """ARGS as libbpf-tools prints it: each argument followed by a space,
    optionally quoted, and " ..." when more arguments were cut off."""
    if quote:
        text = "".join('"' + s.replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n") + '" '
                       for s in strings)
        text = '"' + text[1:] if text else '"'
    else:
        text = "".join(s + " " for s in strings)
    return text + (" ..." if count == max_args + 1 else "")


def run(args: argparse.Namespace) -> int:
    if args.max_args > TOTAL_MAX_ARGS:
        from purebpf.errors import InvalidInputError
        raise InvalidInputError(f"--max-args {args.max_args} is out of range: give 1 to {TOTAL_MAX_ARGS}")
    out = common.Output(args.json)
    clock = common.Clock()

    def on_event(data: bytes) -> None:
        pid, ppid, uid, ret, count, size, comm = HEADER.unpack_from(data)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        if args.name and args.name not in comm:
            return
        strings = [x.decode(errors="replace") for x in data[ARGS_OFF:ARGS_OFF + size].split(b"\0")[:-1]][:count]
        if args.line and not any(args.line in x for x in strings):
            return
        line = ""
        record: dict = {}
        if args.time:
            record["time"] = clock.hms()
            line += common.cfmt("%-8s ", record["time"])
        if args.timestamp:
            record["timestamp"] = round(clock.elapsed(), 3)
            line += common.cfmt("%-8.3f", record["timestamp"])
        if args.print_uid:
            line += common.cfmt("%-6d", uid)
        record.update(uid=uid, pcomm=comm, pid=pid, ppid=ppid, ret=ret, args=strings,
                      truncated=count == args.max_args + 1)
        line += common.cfmt("%-16s %-6d %-6d %3d ", comm, pid, ppid, ret) + format_args(strings, count, args.max_args,
                                                                               args.quote)
        out.row(line, record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = ""
        if args.time:
            head += common.cfmt("%-9s", "TIME")
        if args.timestamp:
            head += common.cfmt("%-8s ", "TIME(s)")
        if args.print_uid:
            head += common.cfmt("%-6s ", "UID")
        out.header(head + common.cfmt("%-16s %-6s %-6s %3s %s", "PCOMM", "PID", "PPID", "RET", "ARGS"))
        common.ready(out)
        common.run_loop(reader.poll, out)
        reader.consume()
        common.report_lost(reader)
    return 0
