"""tcpaccept: trace passive TCP connections: accept() in the accepting process (bcc's columns).

    purebpf tcpaccept -P 80,443 -t

``syscalls:sys_exit_accept`` and ``sys_exit_accept4`` see each accepted
socket's new fd; the program follows it to the ``struct sock``
(``task->files->fdt->fd[fd]->private_data->sk``, offsets from BTF) and, for
TCP over IPv4 or IPv6, sends both endpoints with the accepting PID and COMM.
Connections nobody accepts (still in the listen queue) are not shown.
"""

from __future__ import annotations

import socket
import struct

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R9, AluOp, JmpOp, alu, call, ja, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.sys.fs import tracepoint_id
from purebpf.tools import common, kit, tcp_events
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

EVENT = struct.Struct("<QIHHH6x16s16s16s")  # ts pid family lport rport(be) laddr raddr comm


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-T", "--time", action="store_true", help="include time column on output (HH:MM:SS)")
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    common.add_pid(p, help="trace this PID only")
    p.add_argument("-P", "--port", type=common.port_list, help="comma-separated list of local ports to trace")
    p.add_argument("-4", "--ipv4", action="store_true", help="trace IPv4 family only")
    p.add_argument("-6", "--ipv6", action="store_true", help="trace IPv6 family only")
    common.add_duration(p)
    common.add_json(p)


def _copy(a: kit.Asm, rec, dst: int, sk, src: int, size: int) -> None:
    """Copy ``size`` bytes of the sock at ``sk + src`` into the record (via the stack)."""
    a(mov(R1, FP), alu(AluOp.ADD, R1, -40), mov(R2, size), mov(R3, sk), alu(AluOp.ADD, R3, src),
      call("probe_read_kernel"))
    width = min(size, 8)
    for off in range(0, size, width):
        a(ldx(width, R1, FP, -40 + off), stx(width, rec, dst + off, R1))


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    from purebpf.btf import BTF

    btf = BTF.load_kernel()
    common_off = btf.member_offset("sock", "__sk_common")
    off = {m: common_off + btf.member_offset("sock_common", m) for m in (
        "skc_daddr", "skc_rcv_saddr", "skc_dport", "skc_num", "skc_family", "skc_v6_daddr", "skc_v6_rcv_saddr")}
    protocol = btf.member_offset("sock", "sk_protocol")
    family = tcp_events.family_filter(args.ipv4, args.ipv6)
    for name in ("accept", "accept4"):
        try:
            tracepoint_id("syscalls", f"sys_exit_{name}")
        except Exception:  # noqa: BLE001 - no such syscall here
            continue
        a = kit.Asm()
        a(mov(R6, R1))
        kit.pid_tgid(a, R7)
        kit.filter_task(a, R7, tgid=args.pid)
        a(ldx(8, R1, R6, kit.tp_fields("syscalls", f"sys_exit_{name}")["ret"].offset), jmp(JmpOp.JSLT, R1, 0, a.out),
          stx(8, FP, -8, R1))
        kit.sock_of_fd(a, R9, -8)
        a(jmp(JmpOp.JEQ, R9, 0, a.out))
        kit.read_kernel_chain(a, R1, R9, [(protocol, 2)], slot=-16)
        a(jmp(JmpOp.JNE, R1, socket.IPPROTO_TCP, a.out))
        kit.read_kernel_chain(a, R6, R9, [(off["skc_family"], 2)], slot=-16)
        if family is not None:
            a(jmp(JmpOp.JNE, R6, family, a.out))
        else:
            a(jmp(JmpOp.JEQ, R6, socket.AF_INET, "inet"), jmp(JmpOp.JNE, R6, socket.AF_INET6, a.out))
            a.mark("inet")
        kit.reserve(a, ring_fd, EVENT.size, R7, drops, a.out)
        a(call("ktime_get_ns"), stx(8, R7, 0, R0))
        kit.pid_tgid(a, R0)
        a(alu(AluOp.RSH, R0, 32), stx(4, R7, 8, R0), stx(2, R7, 12, R6))
        for field, dst in (("skc_num", 14), ("skc_dport", 16)):
            kit.read_kernel_chain(a, R1, R9, [(off[field], 2)], slot=-16)
            a(stx(2, R7, dst, R1))
        a(mov(R1, 0), *[stx(8, R7, o, R1) for o in range(24, 56, 8)])
        v4 = a.fresh("v4")
        done = a.fresh("addrs")
        a(jmp(JmpOp.JNE, R6, socket.AF_INET6, v4))
        _copy(a, R7, 24, R9, off["skc_v6_rcv_saddr"], 16)
        _copy(a, R7, 40, R9, off["skc_v6_daddr"], 16)
        a(ja(done))
        a.mark(v4)
        _copy(a, R7, 24, R9, off["skc_rcv_saddr"], 4)
        _copy(a, R7, 40, R9, off["skc_daddr"], 4)
        a.mark(done)
        a(mov(R1, R7), alu(AluOp.ADD, R1, 56), mov(R2, 16), call("get_current_comm"))
        kit.submit(a, R7)
        s.tracepoint(a.load(ProgType.TRACEPOINT, f"tcpaccept_{name}"[:15]), "syscalls", f"sys_exit_{name}")


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)
    clock = common.Clock()

    def on_event(data: bytes) -> None:
        _, pid, family, lport, rport_be, laddr, raddr, comm = EVENT.unpack(data)
        if args.port and lport not in args.port:
            return
        rport = socket.ntohs(rport_be)
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        ip = 6 if family == socket.AF_INET6 else 4
        local, remote = tcp_events.address(family, laddr), tcp_events.address(family, raddr)
        line = ""
        record: dict = {}
        if args.time:
            record["time"] = common.Clock.hms()
            line += cfmt("%-9s", record["time"])
        if args.timestamp:
            record["timestamp"] = round(clock.elapsed(), 3)
            line += cfmt("%-9.3f", record["timestamp"])
        record.update(pid=pid, comm=comm, ip=ip, raddr=remote, rport=rport, laddr=local, lport=lport)
        out.row(line + cfmt("%-7d %-12.12s %-2d %-16s %-5d %-16s %-5d", pid, comm, ip, remote, rport, local, lport),
                record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = (cfmt("%-9s", "TIME") if args.time else "") + (cfmt("%-9s", "TIME(s)") if args.timestamp else "")
        out.header(head + cfmt("%-7s %-12s %-2s %-16s %-5s %-16s %-5s", "PID", "COMM", "IP", "RADDR", "RPORT", "LADDR",
                               "LPORT"))
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
