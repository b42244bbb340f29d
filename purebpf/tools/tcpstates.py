"""tcpstates: trace TCP state changes, with the time spent in the old state
(libbpf-tools' columns).

    purebpf tcpstates -L 8080      # sockets with local port 8080

PID and COMM are the task current when the state changed (see
:mod:`purebpf.tools.tcp_events`); MS is the time since the socket's previous
change seen by this run (0.000 for the first).
"""

from __future__ import annotations

from purebpf.tools import common, tcp_events
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-4", "--ipv4", action="store_true", help="trace IPv4 family only")
    p.add_argument("-6", "--ipv6", action="store_true", help="trace IPv6 family only")
    p.add_argument("-D", "--remoteport", type=common.port_list, help="comma-separated list of remote ports")
    p.add_argument("-L", "--localport", type=common.port_list, help="comma-separated list of local ports")
    p.add_argument("-T", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-w", "--wide", action="store_true", help="wide column output (fits IPv6 addresses)")
    common.add_json(p)


def port_match(args: argparse.Namespace, ev: tcp_events.StateChange) -> bool:
    if args.localport and ev.sport not in args.localport:
        return False
    return not (args.remoteport and ev.dport not in args.remoteport)


def run(args: argparse.Namespace) -> int:
    out = common.Output(args.json)
    last: dict[int, int] = {}

    def on_change(ev: tcp_events.StateChange) -> None:
        if not port_match(args, ev):
            return
        prev = last.get(ev.skaddr)
        ms = (ev.ts_ns - prev) / 1e6 if prev is not None else 0.0
        if ev.newstate == tcp_events.CLOSE:
            last.pop(ev.skaddr, None)
        else:
            last[ev.skaddr] = ev.ts_ns
        old, new = tcp_events.STATES.get(ev.oldstate, str(ev.oldstate)), tcp_events.STATES.get(ev.newstate, "?")
        line = ""
        record = {}
        if args.timestamp:
            record["time"] = common.Clock.hms()
            line += cfmt("%-8s ", record["time"])
        if args.wide:
            line += cfmt("%-16x %-7d %-16s %-2d %-26s %-5d %-26s %-5d %-11s -> %-11s %.3f", ev.skaddr, ev.pid,
                         ev.comm, ev.ip, ev.saddr, ev.sport, ev.daddr, ev.dport, old, new, ms)
        else:
            line += cfmt("%-16x %-7d %-10.10s %-15s %-5d %-15s %-5d %-11s -> %-11s %.3f", ev.skaddr, ev.pid,
                         ev.comm, ev.saddr, ev.sport, ev.daddr, ev.dport, old, new, ms)
        record.update(skaddr=f"{ev.skaddr:x}", pid=ev.pid, comm=ev.comm, ip=ev.ip, laddr=ev.saddr, lport=ev.sport,
                      raddr=ev.daddr, rport=ev.dport, oldstate=old, newstate=new, ms=round(ms, 3))
        out.row(line, record)

    with Session() as s:
        reader = tcp_events.start(s, on_change, family=tcp_events.family_filter(args.ipv4, args.ipv6))
        head = cfmt("%-8s ", "TIME(s)") if args.timestamp else ""
        if args.wide:
            head += cfmt("%-16s %-7s %-16s %-2s %-26s %-5s %-26s %-5s %-11s -> %-11s %s", "SKADDR", "PID", "COMM",
                         "IP", "LADDR", "LPORT", "RADDR", "RPORT", "OLDSTATE", "NEWSTATE", "MS")
        else:
            head += cfmt("%-16s %-7s %-10s %-15s %-5s %-15s %-5s %-11s -> %-11s %s", "SKADDR", "PID", "COMM",
                         "LADDR", "LPORT", "RADDR", "RPORT", "OLDSTATE", "NEWSTATE", "MS")
        out.header(head)
        common.ready(out)
        common.run_loop(reader.poll, out)
        reader.consume()
        common.report_lost(reader)
    return 0
