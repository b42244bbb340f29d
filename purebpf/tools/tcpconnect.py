"""tcpconnect: trace active TCP connections (libbpf-tools' columns).

    purebpf tcpconnect -P 80,443      # connections to ports 80 and 443
    purebpf tcpconnect -c             # count by source and destination

A connect() shows as the change CLOSE -> SYN_SENT, made by the connecting
task itself, so PID and COMM are exact (libbpf-tools uses a kprobe on
tcp_v4_connect; this kernel-independent tracepoint sees the same calls once
the source port is bound).
"""

from __future__ import annotations

from collections import Counter

from purebpf.tools import common, tcp_events
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--count", action="store_true", help="count connects per src ip and dst ip/port")
    common.add_pid(p, help="process PID to trace")
    p.add_argument("-P", "--port", type=common.port_list, help="comma-separated list of destination ports to trace")
    p.add_argument("-s", "--source-port", action="store_true", help="consider (and print) the source port")
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-u", "--uid", type=common.non_negative_int, help="process UID to trace")
    p.add_argument("-U", "--print-uid", action="store_true", help="include UID on output")
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)
    clock = common.Clock()
    counts: Counter = Counter()

    def wanted(ev: tcp_events.StateChange) -> bool:
        return ev.newstate == tcp_events.SYN_SENT and (args.pid is None or ev.pid == args.pid) and (
            args.uid is None or ev.uid == args.uid) and (not args.port or ev.dport in args.port)

    def on_change(ev: tcp_events.StateChange) -> None:
        if not wanted(ev):
            return
        if args.count:
            counts[(ev.saddr, ev.sport if args.source_port else None, ev.daddr, ev.dport)] += 1
            return
        line, record = "", {}
        if args.timestamp:
            record["timestamp"] = round(clock.elapsed(), 3)
            line += cfmt("%-9.3f", record["timestamp"])
        if args.print_uid:
            line += cfmt("%-6d", ev.uid)
        line += cfmt("%-6d %-12.12s %-2d %-16s %-16s", ev.pid, ev.comm, ev.ip, ev.saddr, ev.daddr)
        if args.source_port:
            line += cfmt(" %-5d", ev.sport)
        line += cfmt(" %-5d", ev.dport)
        record.update(uid=ev.uid, pid=ev.pid, comm=ev.comm, ip=ev.ip, saddr=ev.saddr, sport=ev.sport,
                      daddr=ev.daddr, dport=ev.dport)
        out.row(line, record)

    with Session() as s:
        reader = tcp_events.start(s, on_change, newstates=(tcp_events.SYN_SENT,))
        if args.count:
            out.text("Tracing connect ... Hit Ctrl-C to end")
        else:
            head = cfmt("%-9s", "TIME(s)") if args.timestamp else ""
            head += cfmt("%-6s", "UID") if args.print_uid else ""
            head += cfmt("%-6s %-12s %-2s %-16s %-16s", "PID", "COMM", "IP", "SADDR", "DADDR")
            head += cfmt(" %-5s", "SPORT") if args.source_port else ""
            out.header(head + cfmt(" %-5s", "DPORT"))
        common.ready(out)
        common.run_loop(reader.poll, out)
        reader.consume()
        if args.count:
            out.text("")
            src_col = "LADDR" if not args.source_port else "LADDR:LPORT"
            out.text(cfmt("%-25s %-25s %-10s", src_col, "RADDR:RPORT", "CONNECTS"))
            for (saddr, sport, daddr, dport), n in counts.most_common():
                src = saddr if sport is None else f"{saddr}:{sport}"
                out.text(cfmt("%-25s %-25s %-10d", src, f"{daddr}:{dport}", n))
                out.record({"saddr": saddr, "sport": sport, "daddr": daddr, "dport": dport, "connects": n})
        common.report_lost(reader)
    return 0
