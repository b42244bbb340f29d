"""bindsnoop: trace bind() of IPv4 and IPv6 sockets (libbpf-tools' columns).

    purebpf bindsnoop -x -P 80,443     # include failed binds, these ports only

``syscalls:sys_enter_bind`` keeps the socket's fd and a copy of the address
per thread; ``sys_exit_bind`` adds the result and reads the socket behind
the fd (``task->files->fdt->fd[fd]->private_data->sk``, offsets from BTF):
its protocol, bound interface and options (OPTS: F freebind, T transparent,
N bind_address_no_port, R reuseaddr, r reuseport; '.' when off).  Binds of
other families (unix sockets...) are not shown; by default neither are
failed binds (-x shows them).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from functools import cache

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R8, R9, AluOp, JmpOp, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

EVENT = struct.Struct("<QIiH2xiBB6xQ28s4x16s")
# ts pid ret protocol (pad) bound_dev_if reuse-byte reuseport-byte inet_flags sockaddr comm
ADDR = 28  # sizeof(struct sockaddr_in6)
PROTOS = {socket.IPPROTO_TCP: "TCP", socket.IPPROTO_UDP: "UDP"}


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help="trace processes in this cgroup (v2 directory) only")
    common.add_pid(p, help="process ID to trace")
    p.add_argument("-P", "--ports", type=common.port_list, help="comma-separated list of ports to trace")
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-x", "--failed", action="store_true", help="include errors on output")
    common.add_duration(p)
    common.add_json(p)


@cache
def _layout() -> dict[str, int]:
    """Byte offsets in struct sock (and the bit positions of the options)."""
    from purebpf.btf import BTF

    btf = BTF.load_kernel()
    out = {"protocol": btf.member_offset("sock", "sk_protocol"),
           "bound_dev_if": btf.member_offset("sock", "__sk_common.skc_bound_dev_if"),
           "inet_flags": btf.member_offset("inet_sock", "inet_flags")}
    for name in ("skc_reuse", "skc_reuseport"):
        bit = btf.member_bit_offset("sock", f"__sk_common.{name}")
        out[name], out[name + "_shift"] = bit // 8, bit % 8
        out[name + "_bits"] = btf.member("sock", f"__sk_common.{name}").bitfield_size
    flags = btf.enum_values("INET_FLAGS_FREEBIND")
    for name in ("FREEBIND", "TRANSPARENT", "BIND_ADDRESS_NO_PORT"):
        out[name] = flags[f"INET_FLAGS_{name}"]
    return out


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    stash = s.hash(4, 8 + ADDR + 4, "bind_start")  # fd, sockaddr
    cgroup = s.cgroup_filter(args.cgroup)
    enter = kit.tp_fields("syscalls", "sys_enter_bind")
    lay = _layout()

    a = kit.Asm()
    a(mov(R6, R1))
    kit.filter_cgroup(a, cgroup)
    kit.pid_tgid(a, R7)
    kit.filter_task(a, R7, tgid=args.pid)
    a(stx(4, FP, -4, R7), ldx(8, R1, R6, enter["fd"].offset), stx(8, FP, -48, R1))
    a(mov(R1, FP), alu(AluOp.ADD, R1, -40), mov(R2, ADDR), ldx(8, R3, R6, enter["umyaddr"].offset),
      call("probe_read_user"), jmp(JmpOp.JEQ, R0, 0, "copied"))
    a(mov(R1, FP), alu(AluOp.ADD, R1, -40), mov(R2, 16), ldx(8, R3, R6, enter["umyaddr"].offset),
      call("probe_read_user"), jmp(JmpOp.JNE, R0, 0, a.out))
    a.mark("copied")
    a(ldx(2, R1, FP, -40), jmp(JmpOp.JEQ, R1, socket.AF_INET, "inet"), jmp(JmpOp.JNE, R1, socket.AF_INET6, a.out))
    a.mark("inet")
    kit.map_update(a, stash.fd, -4, -48)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "bind_enter"), "syscalls", "sys_enter_bind")

    a = kit.Asm()
    cleanup = a.fresh("cleanup")
    a(mov(R6, R1))
    kit.take_stash(a, stash.fd, R7)
    a(ldx(8, R8, R6, kit.tp_fields("syscalls", "sys_exit_bind")["ret"].offset))
    if not args.failed:
        a(jmp(JmpOp.JNE, R8, 0, cleanup))
    kit.reserve(a, ring_fd, EVENT.size, R6, drops, cleanup)
    a(call("ktime_get_ns"), stx(8, R6, 0, R0))
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(4, R6, 8, R0), stx(4, R6, 12, R8))
    for off in range(0, 32, 8):
        a(ldx(8, R1, R7, 8 + off), stx(8, R6, 40 + off, R1))
    a(mov(R1, R6), alu(AluOp.ADD, R1, 72), mov(R2, 16), call("get_current_comm"))
    a(ldx(8, R1, R7, 0), stx(8, FP, -48, R1))
    kit.sock_of_fd(a, R9, -48)
    for key, off, size in (("protocol", 16, 2), ("bound_dev_if", 20, 4), ("skc_reuse", 24, 1),
                           ("skc_reuseport", 25, 1), ("inet_flags", 32, 8)):
        kit.read_kernel_chain(a, R1, R9, [(lay[key], size)], slot=-56)
        a(stx(size, R6, off, R1))
    kit.submit(a, R6)
    a.mark(cleanup)
    kit.map_delete(a, stash.fd, -4)
    s.tracepoint(a.load(ProgType.TRACEPOINT, "bind_exit"), "syscalls", "sys_exit_bind")


def options(reuse_byte: int, reuseport_byte: int, inet_flags: int) -> str:
    lay = _layout()
    on = [inet_flags >> lay["FREEBIND"] & 1, inet_flags >> lay["TRANSPARENT"] & 1,
          inet_flags >> lay["BIND_ADDRESS_NO_PORT"] & 1,
          reuse_byte >> lay["skc_reuse_shift"] & ((1 << lay["skc_reuse_bits"]) - 1),
          reuseport_byte >> lay["skc_reuseport_shift"] & 1]
    return "".join(c if bit else "." for c, bit in zip("FTNRr", on, strict=True))


def decode_addr(raw: bytes) -> tuple[int, str]:
    family, port = struct.unpack_from("<H", raw)[0], struct.unpack_from(">H", raw, 2)[0]
    if family == socket.AF_INET6:
        return port, str(ipaddress.IPv6Address(raw[8:24]))
    return port, str(ipaddress.IPv4Address(raw[4:8]))


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)

    def on_event(data: bytes) -> None:
        _, pid, ret, proto, dev_if, reuse, reuseport, flags, addr, comm = EVENT.unpack(data)
        port, text = decode_addr(addr)
        if args.ports and port not in args.ports:
            return
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        proto_name, opts = PROTOS.get(proto, "UNK"), options(reuse, reuseport, flags)
        line = ""
        record: dict = {}
        if args.timestamp:
            record["time"] = common.Clock.hms()
            line += cfmt("%8s ", record["time"])
        record.update(pid=pid, comm=comm, ret=ret, proto=proto_name, opts=opts, bound_dev_if=dev_if, port=port,
                      addr=text)
        out.row(line + cfmt("%-7d %-16s %-3d %-5s %-5s %-4d %-5d %-48s", pid, comm, ret, proto_name, opts, dev_if,
                            port, text), record)

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        head = cfmt("%8s ", "TIME(s)") if args.timestamp else ""
        out.header(head + cfmt("%-7s %-16s %-3s %-5s %-5s %-4s %-5s %-48s", "PID", "COMM", "RET", "PROTO", "OPTS",
                               "IF", "PORT", "ADDR"))
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
