"""Test workloads for the networking link kinds: a veth pair between two fresh
network namespaces (or one namespace with only ``lo``, for kernels without the
veth driver), a fresh cgroup v2 directory, and counting programs.

Everything here cleans up after itself: namespaces are deleted, cgroups
removed, sockets closed.  Traffic only flows between the two namespaces'
private /30 addresses, or over 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import traceback
import uuid
from collections.abc import Callable, Iterator

from pyroute2 import netns as pr_netns

from purebpf import asm
from purebpf.asm import R0, R1, R2, R3, R4, R5, R6, R10, AtomicOp, Instruction, JmpOp, Reg, assemble
from purebpf.maps import Map
from purebpf.sys import MapType

ADDR_A, ADDR_B, PREFIX = "10.211.0.1", "10.211.0.2", 30


def kernel_version() -> tuple[int, int]:
    major, minor = platform.release().split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextlib.contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run the block with this thread in namespace ``ns`` (attach, lookups, sockets)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        pr_netns.setns(ns, flags=0)
        try:
            yield
        finally:
            pr_netns.setns(home, flags=0)
    finally:
        os.close(home)


def netns_socket(ns: str, kind: int = socket.SOCK_DGRAM) -> socket.socket:
    """An IPv4 socket living in namespace ``ns`` (a socket keeps the netns it was made in)."""
    with inside(ns):
        return socket.socket(socket.AF_INET, kind)


def exchange_udp(tx: socket.socket, rx: socket.socket, addr: str, port: int, count: int) -> int:
    """Bind ``rx`` to addr:port, send ``count`` datagrams there from ``tx``; return how many arrived."""
    rx.bind((addr, port))
    rx.settimeout(5)
    for i in range(count):
        tx.sendto(b"purebpf %d" % i, (addr, port))
    got = 0
    with contextlib.suppress(TimeoutError):
        for _ in range(count):
            rx.recv(64)
            got += 1
    return got


class _Namespaces:
    """Owns fresh named network namespaces and deletes them on close."""

    def __init__(self, *suffixes: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.names = [f"purebpf-{tag}-{suffix}" for suffix in suffixes]
        try:
            for ns in self.names:
                _ip("netns", "add", ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        """Subclasses wire their namespaces here."""

    inside = staticmethod(inside)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


class LoopbackNetns(_Namespaces):
    """One fresh namespace with only ``lo`` (up): needs no veth driver."""

    def __init__(self) -> None:
        super().__init__("lo")
        self.ns = self.names[0]

    def send_udp(self, count: int, port: int) -> int:
        """Send ``count`` datagrams to 127.0.0.1:port inside the namespace; return how many arrived."""
        with netns_socket(self.ns) as tx, netns_socket(self.ns) as rx:
            return exchange_udp(tx, rx, "127.0.0.1", port, count)


class VethPair(_Namespaces):
    """``veth_a`` in namespace ``ns_a`` (ADDR_A) wired to ``veth_b`` in ``ns_b`` (ADDR_B)."""

    veth_a, veth_b = "pbveth0", "pbveth1"

    def __init__(self) -> None:
        super().__init__("a", "b")

    def _setup(self) -> None:
        self.ns_a, self.ns_b = self.names
        _ip("link", "add", self.veth_a, "netns", self.ns_a, "type", "veth", "peer", "name", self.veth_b,
            "netns", self.ns_b)
        for ns, dev, addr in ((self.ns_a, self.veth_a, ADDR_A), (self.ns_b, self.veth_b, ADDR_B)):
            _ip("-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")

    def send_udp(self, count: int, port: int) -> int:
        """Send ``count`` datagrams ns_a -> ADDR_B:port; return how many arrived."""
        with netns_socket(self.ns_a) as tx, netns_socket(self.ns_b) as rx:
            return exchange_udp(tx, rx, ADDR_B, port, count)


# ---- cgroups --------------------------------------------------------------------

def cgroup2_root() -> str | None:
    """Where cgroup v2 is mounted (/sys/fs/cgroup, or .../unified on hybrid hosts)."""
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


class TempCgroup:
    """A fresh, empty cgroup v2 directory; :meth:`run` forks a child into it."""

    def __init__(self) -> None:
        root = cgroup2_root()
        if root is None:
            raise RuntimeError("cgroup v2 is not mounted")
        self.path = os.path.join(root, f"purebpf-test-{uuid.uuid4().hex[:8]}")
        os.mkdir(self.path)

    def run(self, work: Callable[[], None], timeout: float = 10) -> None:
        """Run ``work`` in a forked child that first moves itself into this cgroup."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.alarm(int(timeout))
                with open(os.path.join(self.path, "cgroup.procs"), "w") as procs:
                    procs.write(str(os.getpid()))
                work()
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child in the cgroup failed (see stderr)"

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(self.path)

    def __enter__(self) -> TempCgroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- programs -------------------------------------------------------------------

XDP_PASS, SK_PASS = 2, 1
TC_ACT_UNSPEC = -1  # tc: no verdict, the next program (or the default, pass) decides; TCX_NEXT for tcx
SOCKOPS_ACTIVE_ESTABLISHED = 4  # BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB; PASSIVE is 5
ETH_P_IP_LE16 = 0x0008  # htons(0x0800) read as a little-endian u16


def counter_map() -> Map:
    """ARRAY of 4 u64 counters."""
    return Map(MapType.ARRAY, 4, 8, 4, name="pb_count")


def counter(m: Map, slot: int = 0) -> int:
    return int.from_bytes(m.lookup_raw(slot.to_bytes(4, "little")), "little")


def bump(map_fd: int, key: int | Reg) -> list[Instruction]:
    """counter[key] += 1 atomically (key an immediate or a register); jumps to "out" on a miss."""
    store = asm.stx(4, R10, -4, key) if isinstance(key, Reg) else asm.st(4, R10, -4, key)
    return [
        store,
        asm.mov(R2, R10),
        asm.add(R2, -4),
        asm.ld_map_fd(R1, map_fd),
        asm.call("map_lookup_elem"),
        asm.jmp(JmpOp.JEQ, R0, 0, "out"),
        asm.mov(R1, 1),
        asm.atomic(AtomicOp.ADD, 8, R0, 0, R1),
    ]


def finish(verdict: int) -> list[Instruction]:
    return [asm.mov(R0, verdict).with_label("out"), asm.exit_()]


def udp_counter(map_fd: int, port: int, *, data_off: int, end_off: int, l2: bool, verdict: int) -> list[Instruction]:
    """Count IPv4 UDP packets to ``port`` (no IP options), reading the packet directly.

    ``data_off``/``end_off`` are the ctx offsets of data/data_end (xdp_md: 0/4,
    __sk_buff: 76/80); ``l2`` says the packet starts with an Ethernet header.
    """
    l3 = 14 if l2 else 0
    be_port = int.from_bytes(port.to_bytes(2, "big"), "little")
    check_eth = [asm.ldx(2, R5, R2, 12), asm.jmp(JmpOp.JNE, R5, ETH_P_IP_LE16, "out")] if l2 else []
    return assemble([
        asm.ldx(4, R2, R1, data_off),
        asm.ldx(4, R3, R1, end_off),
        asm.mov(R4, R2),
        asm.add(R4, l3 + 24),
        asm.jmp(JmpOp.JGT, R4, R3, "out"),
        *check_eth,
        asm.ldx(1, R5, R2, l3),
        asm.jmp(JmpOp.JNE, R5, 0x45, "out"),
        asm.ldx(1, R5, R2, l3 + 9),
        asm.jmp(JmpOp.JNE, R5, 17, "out"),
        asm.ldx(2, R5, R2, l3 + 22),
        asm.jmp(JmpOp.JNE, R5, be_port, "out"),
        *bump(map_fd, 0),
        *finish(verdict),
    ])


def xdp_udp_counter(map_fd: int, port: int) -> list[Instruction]:
    return udp_counter(map_fd, port, data_off=0, end_off=4, l2=True, verdict=XDP_PASS)


def tc_udp_counter(map_fd: int, port: int) -> list[Instruction]:
    return udp_counter(map_fd, port, data_off=76, end_off=80, l2=True, verdict=TC_ACT_UNSPEC)


def cgroup_skb_udp_counter(map_fd: int, port: int) -> list[Instruction]:
    return udp_counter(map_fd, port, data_off=76, end_off=80, l2=False, verdict=1)


def sockops_established_counter(map_fd: int) -> list[Instruction]:
    """counter[0] += 1 per active (connect) and counter[1] per passive (accept) establishment."""
    return assemble([
        asm.ldx(4, R6, R1, 0),           # bpf_sock_ops.op
        asm.add(R6, -SOCKOPS_ACTIVE_ESTABLISHED),
        asm.jmp(JmpOp.JGT, R6, 1, "out"),
        *bump(map_fd, R6),
        *finish(1),
    ])


def counting_verdict(map_fd: int, verdict: int = SK_PASS) -> list[Instruction]:
    """counter[0] += 1 per run; for sk_msg / sk_skb (and any program returning ``verdict``)."""
    return assemble([*bump(map_fd, 0), *finish(verdict)])
