"""tcpretrans: trace TCP retransmits, one line each (bcc's columns).

    purebpf tcpretrans -c      # count retransmits per connection until Ctrl-C

``tcp:tcp_retransmit_skb`` fires for every retransmitted segment (SYNs
included) with both endpoints and the socket's state; with -s the
segment's sequence number is read from the skb's control block (BTF
offsets).  Tail loss probes (bcc's -l) have no tracepoint and are not
shown.  PID is the task current at the retransmit, usually 0 (a timer).
"""

from __future__ import annotations

import socket
import struct

from purebpf.asm import R0, R1, R2, R6, R7, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.tools import common, kit, tcp_events
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

RECORD = struct.Struct("<QIiHHH2x16s16sI4x")  # ts pid state family sport dport saddr daddr seq


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-4", "--ipv4", action="store_true", help="trace IPv4 family only")
    p.add_argument("-6", "--ipv6", action="store_true", help="trace IPv6 family only")
    p.add_argument("-c", "--count", action="store_true", help="count retransmits per connection, print at the end")
    p.add_argument("-s", "--sequence", action="store_true", help="display the TCP sequence number")
    common.add_duration(p)
    common.add_json(p)


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    f = kit.tp_fields("tcp", "tcp_retransmit_skb")
    family = tcp_events.family_filter(args.ipv4, args.ipv6)
    a = kit.Asm()
    a(mov(R6, R1))
    if family is not None:
        a(ldx(2, R1, R6, f["family"].offset), jmp(JmpOp.JNE, R1, family, a.out))
    kit.reserve(a, ring_fd, RECORD.size, R7, drops, a.out)
    a(call("ktime_get_ns"), stx(8, R7, 0, R0))
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(4, R7, 8, R0))
    for name, off, size in (("state", 12, 4), ("family", 16, 2), ("sport", 18, 2), ("dport", 20, 2)):
        a(ldx(size, R1, R6, f[name].offset), stx(size, R7, off, R1))
    tcp_events.copy_addresses(a, R6, R7, f, 24)
    a(mov(R1, 0), stx(4, R7, 56, R1))
    if args.sequence:  # TCP_SKB_CB(skb)->seq: the first u32 of skb->cb
        a(ldx(8, R2, R6, f["skbaddr"].offset))
        kit.read_kernel_chain(a, R1, R2, [(kit.kernel_offset("sk_buff", "cb"), 4)])
        a(stx(4, R7, 56, R1))
    kit.submit(a, R7)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "tcpretrans"), "tcp", "tcp_retransmit_skb")


def run(args: argparse.Namespace) -> int:
    out = common.Output(args.json)
    counts: dict[tuple[str, str], int] = {}

    def on_event(data: bytes) -> None:
        _, pid, state, family, sport, dport, saddr, daddr, seq = RECORD.unpack(data)
        laddr = f"{tcp_events.address(family, saddr)}:{sport}"
        raddr = f"{tcp_events.address(family, daddr)}:{dport}"
        if args.count:
            counts[(laddr, raddr)] = counts.get((laddr, raddr), 0) + 1
            return
        ip = 6 if family == socket.AF_INET6 else 4
        st = tcp_events.STATES.get(state, str(state))
        record = {"time": common.Clock.hms(), "pid": pid, "ip": ip, "laddr": laddr, "type": "R", "raddr": raddr}
        line = cfmt("%-8s %-7d %-2d %-20s %1s> %-20s", record["time"], pid, ip, laddr, "R", raddr)
        if args.sequence:
            record["seq"] = seq
            line += cfmt(" %-12d", seq)
        record["state"] = st
        out.row(line + " " + st, record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        if args.count:
            out.text("Tracing retransmits ... Hit Ctrl-C to end")
        else:
            head = cfmt("%-8s %-7s %-2s %-20s %1s> %-20s", "TIME", "PID", "IP", "LADDR:LPORT", "T", "RADDR:RPORT")
            out.header(head + (cfmt(" %-12s %s", "SEQ", "STATE") if args.sequence else " STATE"))
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        if args.count:
            out.text(cfmt("\n%-25s %-25s %-10s", "LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"))
            for (laddr, raddr), n in sorted(counts.items(), key=lambda kv: kv[1]):
                out.row(cfmt("%-25s %-25s %-10d", laddr, raddr, n), {"laddr": laddr, "raddr": raddr, "retransmits": n})
        common.report_lost(reader)
    return 0
