"""TCP: state transitions, connections opened and closed with their
duration, retransmits (``sock:inet_sock_set_state``, ``tcp:tcp_retransmit_skb``).

Connections are labelled by their service port (the remote port of an
active open, the local port of a passive one) and direction, which keeps
ephemeral ports out of the labels.  These events often fire in softirq
context, where the current process is unrelated: process filters do not
apply; the ``ports`` parameter restricts the probe to given ports instead.
"""

from __future__ import annotations

from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import BpftraceProbe, power_bounds
from purebpf.errors import InvalidInputError

STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
          7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}
IPPROTO_TCP = 6
ACTIVE, PASSIVE = 1, 2
DURATION_BOUNDS = power_bounds(16, 40)  # ~65 us .. ~18 min in 4x steps, in ns


class TcpProbe(BpftraceProbe):
    name = "tcp"
    help = "TCP: state transitions, connections opened/closed and their duration, retransmits, by port"
    params = {"ports": []}
    uses_filters = False
    metrics = {
        "purebpf_tcp_state_transitions": "TCP socket state changes, by old and new state.",
        "purebpf_tcp_connections_opened": "TCP connections established, by service port and direction.",
        "purebpf_tcp_connections_closed": "TCP connections closed (including failed connects), by service port "
                                          "and direction.",
        "purebpf_tcp_connection_duration_seconds": "Lifetime of TCP connections from SYN to close, by service port "
                                                   "and direction.",
        "purebpf_tcp_retransmits": "TCP segments retransmitted, by local and remote port.",
    }

    object_maps = frozenset({"@born", "@side"})

    def _ports(self) -> str:
        ports = self.p["ports"]
        if not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports):
            raise InvalidInputError(f"probes.tcp.ports: expected a list of port numbers, got {ports!r}")
        return " || ".join(f"args->sport == {p} || args->dport == {p}" for p in ports)

    def source(self) -> str:
        ports = self._ports()
        state_guard = f"/args->protocol == {IPPROTO_TCP}" + (f" && ({ports})/" if ports else "/")
        retrans_guard = f"/{ports}/" if ports else ""
        return f"""
tracepoint:sock:inet_sock_set_state {state_guard} {{
  @trans[args->oldstate, args->newstate] = count();
  if (args->newstate == 2) {{
    @born[args->skaddr] = nsecs;
    @side[args->skaddr] = args->dport + {ACTIVE << 16};
  }}
  if (args->newstate == 3) {{
    @born[args->skaddr] = nsecs;
    @side[args->skaddr] = args->sport + {PASSIVE << 16};
  }}
  if (args->newstate == 1) {{
    $s = @side[args->skaddr];
    if ($s) {{ @opened[$s] = count(); }}
  }}
  if (args->newstate == 7) {{
    $c = @side[args->skaddr];
    if ($c) {{
      $d = nsecs - @born[args->skaddr];
      @closed[$c] = count();
      @dur[$c] = hist($d);
      @dur_ns[$c] = sum($d);
      delete(@side[args->skaddr]);
      delete(@born[args->skaddr]);
    }}
  }}
}}
tracepoint:tcp:tcp_retransmit_skb {retrans_guard} {{ @retrans[args->sport, args->dport] = count(); }}
"""

    def families(self) -> list[Family]:
        conn = ("port", "direction")

        def side(k: tuple) -> tuple:
            return str(k[0] & 0xFFFF), "active" if k[0] >> 16 == ACTIVE else "passive"

        def states(k: tuple) -> tuple:
            return STATES.get(k[0], str(k[0])), STATES.get(k[1], str(k[1]))
        return [
            self.counter_family("purebpf_tcp_state_transitions", ("from", "to"), "@trans", states),
            self.counter_family("purebpf_tcp_connections_opened", conn, "@opened", side),
            self.counter_family("purebpf_tcp_connections_closed", conn, "@closed", side),
            self.histogram_family("purebpf_tcp_connection_duration_seconds", conn, "@dur", "@dur_ns", side,
                                  bounds=DURATION_BOUNDS),
            self.counter_family("purebpf_tcp_retransmits", ("lport", "rport"), "@retrans", lambda k: k),
        ]
