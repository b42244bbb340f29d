"""TCP state changes for the tcp* tools, from ``sock:inet_sock_set_state``.

One program sends every TCP state change (with the socket address, the
current task, both endpoints and, from ``struct tcp_sock`` through BTF
offsets, the bytes acked and received so far); tcpstates, tcpconnect and
tcplife are views of this stream kept in user space.  The tracepoint fires in
the task that changed the state: the connecting process for SYN_SENT, often
softirq context (whatever ran on the CPU) for changes driven by packets.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from purebpf.asm import R0, R1, R2, R3, R6, R7, AluOp, JmpOp, alu, call, ja, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.tools import kit
from purebpf.tools.session import Session

IPPROTO_TCP = 6
RECORD = struct.Struct("<QQIIiiHHH2x16s16sQQ16s")
STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
          7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}
ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, CLOSE, LAST_ACK = 1, 2, 3, 4, 7, 9


@dataclass
class StateChange:
    ts_ns: int
    skaddr: int
    pid: int
    uid: int
    oldstate: int
    newstate: int
    family: int
    sport: int
    dport: int
    saddr: str
    daddr: str
    tx_bytes: int
    rx_bytes: int
    comm: str

    @property
    def ip(self) -> int:
        return 6 if self.family == socket.AF_INET6 else 4


def decode(data: bytes) -> StateChange:
    ts, sk, pid, uid, old, new, family, sport, dport, saddr, daddr, tx, rx, comm = RECORD.unpack(data)
    src, dst = address(family, saddr), address(family, daddr)
    return StateChange(ts, sk, pid, uid, old, new, family, sport, dport, src, dst, tx, rx,
                       comm.split(b"\0", 1)[0].decode(errors="replace"))


def build(s: Session, ring_fd: int, drops, *, family: int | None = None, newstates: tuple[int, ...] = ()) -> None:
    """Attach the program; ``family`` (AF_INET/AF_INET6) and ``newstates``
    (only changes into these states) filter in the kernel."""
    f = kit.tp_fields("sock", "inet_sock_set_state")
    acked = kit.kernel_offset("tcp_sock", "bytes_acked")
    received = kit.kernel_offset("tcp_sock", "bytes_received")
    a = kit.Asm()
    a(mov(R6, R1), ldx(2, R1, R6, f["protocol"].offset), jmp(JmpOp.JNE, R1, IPPROTO_TCP, a.out))
    if family is not None:
        a(ldx(2, R1, R6, f["family"].offset), jmp(JmpOp.JNE, R1, family, a.out))
    if newstates:
        keep = a.fresh("keep")
        a(ldx(4, R1, R6, f["newstate"].offset))
        a(*[jmp(JmpOp.JEQ, R1, st, keep) for st in newstates], ja(a.out))
        a.mark(keep)
    kit.reserve(a, ring_fd, RECORD.size, R7, drops, a.out)
    a(call("ktime_get_ns"), stx(8, R7, 0, R0), ldx(8, R1, R6, f["skaddr"].offset), stx(8, R7, 8, R1))
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(4, R7, 16, R0))
    kit.current_uid(a, R0)
    a(stx(4, R7, 20, R0))
    for name, off, size in (("oldstate", 24, 4), ("newstate", 28, 4), ("family", 32, 2), ("sport", 34, 2),
                            ("dport", 36, 2)):
        a(ldx(size, R1, R6, f[name].offset), stx(size, R7, off, R1))
    copy_addresses(a, R6, R7, f, 40)
    a(ldx(8, R3, R6, f["skaddr"].offset))
    kit.read_kernel_chain(a, R1, R3, [(acked, 8)], slot=-8)
    a(stx(8, R7, 72, R1), ldx(8, R3, R6, f["skaddr"].offset))
    kit.read_kernel_chain(a, R1, R3, [(received, 8)], slot=-8)
    a(stx(8, R7, 80, R1), mov(R1, R7), alu(AluOp.ADD, R1, 88), mov(R2, 16), call("get_current_comm"))
    kit.submit(a, R7)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "tcp_state"), "sock", "inet_sock_set_state")


def copy_addresses(a: kit.Asm, ctx, rec, f: dict, dst: int) -> None:
    """Copy a tcp tracepoint's source and destination addresses (``saddr``,
    ``daddr`` or their ``_v6`` twins, by ``family``) into the record at
    ``rec + dst`` as two zero-filled 16-byte fields; IPv4 fills the first 4
    bytes.  Loads are as wide as the field's alignment allows (the context
    refuses misaligned ones: tcp_retransmit_skb has its addresses at 2 mod 4)."""
    a(ldx(2, R1, ctx, f["family"].offset))
    v4 = a.fresh("v4")
    copied = a.fresh("copied")
    a(jmp(JmpOp.JNE, R1, 10, v4))  # AF_INET6
    for src, off in (("saddr_v6", dst), ("daddr_v6", dst + 16)):
        _copy_ctx(a, ctx, f[src].offset, rec, off, 16)
    a(ja(copied))
    a.mark(v4)
    a(mov(R1, 0))
    for src, off in (("saddr", dst), ("daddr", dst + 16)):
        a(stx(8, rec, off, R1), stx(8, rec, off + 8, R1))
        _copy_ctx(a, ctx, f[src].offset, rec, off, 4)
    a.mark(copied)


def _copy_ctx(a: kit.Asm, ctx, src: int, rec, dst: int, size: int) -> None:
    chunk = min(8, size, src & -src)
    for i in range(0, size, chunk):
        a(ldx(chunk, R2, ctx, src + i), stx(chunk, rec, dst + i, R2))


def address(family: int, raw: bytes) -> str:
    """A 16-byte address field as text (IPv4 in its first 4 bytes)."""
    if family == socket.AF_INET6:
        return str(ipaddress.IPv6Address(raw))
    return str(ipaddress.IPv4Address(raw[:4]))


def start(s: Session, on_change: Callable[[StateChange], None], **filters) -> object:
    """Build the program and a reader calling ``on_change`` for each change."""
    ring = s.ring()
    drops = s.drops()
    build(s, ring.fd, drops, **filters)
    return s.reader(ring, lambda data: on_change(decode(data)), drops)


def family_filter(ipv4: bool, ipv6: bool) -> int | None:
    return socket.AF_INET if ipv4 and not ipv6 else socket.AF_INET6 if ipv6 and not ipv4 else None
