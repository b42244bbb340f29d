"""oomkill: trace OOM killer kills (libbpf-tools' line).

    purebpf oomkill

``oom:mark_victim`` fires when the OOM killer picks its victim, in the task
whose allocation triggered it: PID and comm of both, and the victim's size.
PAGES is the victim's total virtual memory in pages (the tracepoint's
``total_vm``); the kprobe-based peer prints the OOM domain's size instead,
which no tracepoint carries.  LOADAVG is /proc/loadavg at the kill.
"""

from __future__ import annotations

import os
import struct

from purebpf.asm import R0, R1, R2, R6, R7, AluOp, alu, call, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

EVENT = struct.Struct("<IiQ16s16s")  # trigger pid, victim pid, total_vm (kB), trigger comm, victim comm


def arguments(p: argparse.ArgumentParser) -> None:
    common.add_duration(p)
    common.add_json(p)


def build(s: Session, ring_fd: int, drops) -> None:
    f = kit.tp_fields("oom", "mark_victim")
    a = kit.Asm()
    a(mov(R6, R1))
    kit.read_data_loc_str(a, R6, f["comm"].offset, -16, 16)
    kit.reserve(a, ring_fd, EVENT.size, R7, drops, a.out)
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(4, R7, 0, R0), ldx(4, R1, R6, f["pid"].offset), stx(4, R7, 4, R1))
    a(ldx(8, R1, R6, f["total_vm"].offset), stx(8, R7, 8, R1))
    a(mov(R1, R7), alu(AluOp.ADD, R1, 16), mov(R2, 16), call("get_current_comm"))
    a(mov(R2, R7), alu(AluOp.ADD, R2, 32))
    kit.copy_stack(a, R2, -16, 16)
    kit.submit(a, R7)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "oomkill"), "oom", "mark_victim")


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return "?"


def run(args: argparse.Namespace) -> int:
    out = common.Output(args.json)
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def on_event(data: bytes) -> None:
        tpid, kpid, total_kb, tcomm, kcomm = EVENT.unpack(data)
        tcomm = tcomm.split(b"\0", 1)[0].decode(errors="replace")
        kcomm = kcomm.split(b"\0", 1)[0].decode(errors="replace")
        when, avg, pages = common.Clock.hms(), loadavg(), total_kb // page_kb
        out.row(cfmt('%s Triggered by PID %d ("%s"), OOM kill of PID %d ("%s"), %d pages, loadavg: %s', when, tpid,
                     tcomm, kpid, kcomm, pages, avg),
                {"time": when, "tpid": tpid, "tcomm": tcomm, "kpid": kpid, "kcomm": kcomm, "pages": pages,
                 "loadavg": avg})

    with Session() as s:
        ring = s.ring(size=1 << 16)
        drops = s.drops()
        build(s, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        out.text("Tracing OOM kills... Ctrl-C to stop.")
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
