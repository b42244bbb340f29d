"""sigsnoop: trace signals (libbpf-tools' columns); ``killsnoop`` is sigsnoop -k.

    purebpf sigsnoop -x -s 9       # failed SIGKILLs
    purebpf killsnoop              # signals sent by kill(), tkill(), tgkill()

By default every generated signal is seen (``signal:signal_generate``, RESULT
is its errno field); with -k only those sent by the kill syscalls, with the
syscall's return value as RESULT.
"""

from __future__ import annotations

import signal
import struct

from purebpf.asm import FP, R0, R1, R2, R3, R4, R6, R7, R8, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

EVENT = struct.Struct("<Iiii16s")  # pid tpid sig ret comm
KILL_SYSCALLS = {"kill": ("pid", "sig"), "tkill": ("pid", "sig"), "tgkill": ("pid", "sig")}


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", "--kill", action="store_true", help="trace signals issued by kill syscall only")
    p.add_argument("-n", "--name", action="store_true", help="output signal name instead of signal number")
    common.add_pid(p, help="process ID to trace")
    p.add_argument("-s", "--signal", type=_signal_number, help="signal to trace")
    p.add_argument("-x", "--failed", action="store_true", help="trace failed signals only")
    common.add_json(p)


def _signal_number(text: str) -> int:
    value = common.positive_int(text)
    if value > 64:
        raise common.bad_value(f"'{text}' is not a signal number (1-64)")
    return value


def _fill(a: kit.Asm, ev, pid_reg, tpid_reg, sig_reg, ret_reg) -> None:
    a(mov(R1, pid_reg), alu(AluOp.RSH, R1, 32), stx(4, ev, 0, R1), stx(4, ev, 4, tpid_reg), stx(4, ev, 8, sig_reg),
      stx(4, ev, 12, ret_reg), mov(R1, ev), alu(AluOp.ADD, R1, 16), mov(R2, 16), call("get_current_comm"))


def _generate(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    f = kit.tp_fields("signal", "signal_generate")
    a = kit.Asm()
    a(mov(R6, R1), ldx(4, R8, R6, f["errno"].offset))
    if args.failed:
        a(jmp(JmpOp.JEQ, R8, 0, a.out, bits=32))
    a(ldx(4, R7, R6, f["sig"].offset))
    a.skip_unless(R7, args.signal, bits=32)
    kit.pid_tgid(a, R0)
    kit.filter_task(a, R0, tgid=args.pid)
    a(ldx(4, R7, R6, f["pid"].offset), stx(4, FP, -8, R7), ldx(4, R7, R6, f["sig"].offset))
    kit.reserve(a, ring_fd, EVENT.size, R6, drops, a.out)
    kit.pid_tgid(a, R1)
    a(ldx(4, R0, FP, -8))
    _fill(a, R6, R1, R0, R7, R8)
    kit.submit(a, R6)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "sig_generate"), "signal", "signal_generate")


def _kill_pair(s: Session, args: argparse.Namespace, stash_fd: int, ring_fd: int, drops, name: str) -> None:
    f = kit.tp_fields("syscalls", f"sys_enter_{name}")
    tpid, sig = f["pid"], f["sig"]
    a = kit.Asm()
    a(mov(R6, R1), ldx(4, R7, R6, sig.offset))
    a.skip_unless(R7, args.signal, bits=32)
    kit.pid_tgid(a, R0)
    kit.filter_task(a, R0, tgid=args.pid)
    kit.stash_args(a, stash_fd, R6, [(tpid.offset, 4, True), (sig.offset, 4, True)])
    s.tracepoint(a.load(ProgType.TRACEPOINT, f"{name}_enter"), "syscalls", f"sys_enter_{name}")

    x = kit.tp_fields("syscalls", f"sys_exit_{name}")
    a = kit.Asm()
    cleanup = a.fresh("cleanup")
    a(mov(R6, R1), ldx(8, R8, R6, x["ret"].offset))
    kit.take_stash(a, stash_fd, R7)
    if args.failed:
        a(jmp(JmpOp.JSGE, R8, 0, cleanup))
    kit.reserve(a, ring_fd, EVENT.size, R6, drops, cleanup)
    kit.pid_tgid(a, R0)
    a(ldx(8, R3, R7, 0), ldx(8, R4, R7, 8))
    _fill(a, R6, R0, R3, R4, R8)
    kit.submit(a, R6)
    a.mark(cleanup)
    kit.map_delete(a, stash_fd, -4)
    s.tracepoint(a.load(ProgType.TRACEPOINT, f"{name}_exit"), "syscalls", f"sys_exit_{name}")


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def run(args: argparse.Namespace, *, kill_only: bool = False) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)

    def on_event(data: bytes) -> None:
        pid, tpid, sig, ret, comm = EVENT.unpack(data)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        ts = common.Clock.hms()
        if args.name:
            line = cfmt("%-8s %-7d %-16s %-9s %-7d %-6d", ts, pid, comm, signal_name(sig), tpid, ret)
        else:
            line = cfmt("%-8s %-7d %-16s %-9d %-7d %-6d", ts, pid, comm, sig, tpid, ret)
        out.row(line, {"time": ts, "pid": pid, "comm": comm, "sig": sig, "signal": signal_name(sig), "tpid": tpid,
                       "result": ret})

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        if args.kill or kill_only:
            stash = s.hash(4, 16, "sig_stash")
            for name in KILL_SYSCALLS:
                _kill_pair(s, args, stash.fd, ring.fd, drops, name)
        else:
            _generate(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        out.header(cfmt("%-8s %-7s %-16s %-9s %-7s %-6s", "TIME", "PID", "COMM", "SIG", "TPID", "RESULT"))
        common.ready(out)
        common.run_loop(reader.poll, out)
        reader.consume()
        common.report_lost(reader)
    return 0
