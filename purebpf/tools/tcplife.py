"""tcplife: trace TCP sessions when they close, with duration and bytes
(libbpf-tools' columns).

    purebpf tcplife -D 80        # sessions with remote port 80

A session starts at its first change into SYN_SENT, SYN_RECV or ESTABLISHED
and ends at CLOSE; TX_KB/RX_KB are ``tcp_sock.bytes_acked`` and
``bytes_received`` at close.  PID/COMM are the task seen at SYN_SENT or
LAST_ACK (the owner), else the task current at close, as libbpf-tools does.
"""

from __future__ import annotations

from purebpf.tools import common, tcp_events
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session
from purebpf.tools.tcpstates import port_match

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-4", "--ipv4", action="store_true", help="trace IPv4 only")
    p.add_argument("-6", "--ipv6", action="store_true", help="trace IPv6 only")
    p.add_argument("-D", "--remoteport", type=common.port_list, help="comma-separated list of remote ports")
    p.add_argument("-L", "--localport", type=common.port_list, help="comma-separated list of local ports")
    common.add_pid(p, help="process ID to trace")
    p.add_argument("-T", "--time", action="store_true", help="include timestamp on output")
    p.add_argument("-w", "--wide", action="store_true", help="wide column output (fits IPv6 addresses)")
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)
    width = 39 if args.wide else 15
    births: dict[int, int] = {}
    owners: dict[int, tuple[int, str]] = {}

    def on_change(ev: tcp_events.StateChange) -> None:
        sk = ev.skaddr
        if ev.newstate < tcp_events.FIN_WAIT1 and sk not in births:
            births[sk] = ev.ts_ns
        if ev.newstate in (tcp_events.SYN_SENT, tcp_events.LAST_ACK):
            owners[sk] = (ev.pid, ev.comm)
        if ev.newstate != tcp_events.CLOSE:
            return
        born = births.pop(sk, None)
        pid, comm = owners.pop(sk, (ev.pid, ev.comm))
        if born is None or not port_match(args, ev) or (args.pid is not None and pid != args.pid):
            return
        ms = (ev.ts_ns - born) / 1e6
        line, record = "", {}
        if args.time:
            record["time"] = common.Clock.hms()
            line += cfmt("%-8s ", record["time"])
        line += cfmt("%-7d %-16s %-*s %-5d %-*s %-5d %-6.2f %-6.2f %-.2f", pid, comm, width, ev.saddr, ev.sport,
                     width, ev.daddr, ev.dport, ev.tx_bytes / 1024, ev.rx_bytes / 1024, ms)
        record.update(pid=pid, comm=comm, laddr=ev.saddr, lport=ev.sport, raddr=ev.daddr, rport=ev.dport,
                      tx_bytes=ev.tx_bytes, rx_bytes=ev.rx_bytes, ms=round(ms, 3))
        out.row(line, record)

    with Session() as s:
        reader = tcp_events.start(s, on_change, family=tcp_events.family_filter(args.ipv4, args.ipv6))
        head = cfmt("%-8s ", "TIME") if args.time else ""
        out.header(head + cfmt("%-7s %-16s %-*s %-5s %-*s %-5s %-6s %-6s %-s", "PID", "COMM", width, "LADDR",
                               "LPORT", width, "RADDR", "RPORT", "TX_KB", "RX_KB", "MS"))
        common.ready(out)
        common.run_loop(reader.poll, out)
        reader.consume()
        common.report_lost(reader)
    return 0
