"""cgroup links on a fresh cgroup v2 directory, with a forked child as the workload."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from nettest import TempCgroup, cgroup2_root, cgroup_skb_udp_counter, counter, counter_map, counting_verdict

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import Cgroup
from purebpf.programs import Program
from purebpf.sys import AttachType, LinkType, ProgType

pytestmark = pytest.mark.skipif(cgroup2_root() is None, reason="cgroup v2 is not mounted")

N = 15


@pytest.fixture
def cg():
    with TempCgroup() as group:
        yield group


@pytest.fixture
def rx():
    """The receiving socket, in this process (outside the test cgroup) on a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


@pytest.fixture
def egress_counter(rx):
    port = rx.getsockname()[1]
    with counter_map() as m, Program(ProgType.CGROUP_SKB, cgroup_skb_udp_counter(m.fd, port), name="skb_count",
                                     expected_attach_type=AttachType.CGROUP_INET_EGRESS) as prog:
        yield m, prog


def send_udp_to_loopback(count: int, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for i in range(count):
            tx.sendto(b"x%d" % i, ("127.0.0.1", port))


def bpftool_cgroup(path: str) -> str:
    """The programs `bpftool cgroup show` lists (an oracle independent of purebpf)."""
    return subprocess.run(["bpftool", "cgroup", "show", path], capture_output=True, text=True, check=True).stdout


def run_and_count(cg: TempCgroup, m, rx: socket.socket, count: int) -> int:
    """A child in the cgroup sends ``count`` datagrams to ``rx``; return the counter."""
    cg.run(lambda: send_udp_to_loopback(count, rx.getsockname()[1]))
    for _ in range(count):
        rx.recv(64)  # every datagram still arrives (the program returns 1: allow)
    return counter(m)


@pytest.mark.parametrize("legacy", [False, True], ids=["link", "prog_attach"])
def test_cgroup_skb_egress_counts_the_childs_packets(cg, rx, egress_counter, legacy):
    m, prog = egress_counter
    with Cgroup(prog, cg.path, AttachType.CGROUP_INET_EGRESS, legacy=legacy) as link:
        assert link.legacy == legacy and link.is_bpf_link != legacy
        if not legacy:
            assert link.info().type == LinkType.CGROUP and link.info().prog_id == prog.id
        assert "skb_count" in bpftool_cgroup(cg.path)
        assert run_and_count(cg, m, rx, N) == N
        send_udp_to_loopback(3, rx.getsockname()[1])  # from this process, outside the cgroup
        for _ in range(3):
            rx.recv(64)
        assert counter(m) == N
    assert "skb_count" not in bpftool_cgroup(cg.path)
    assert run_and_count(cg, m, rx, 2) == N  # detached


def test_cgroup_by_fd(cg, rx, egress_counter):
    m, prog = egress_counter
    fd = os.open(cg.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with Cgroup(prog, fd, AttachType.CGROUP_INET_EGRESS):
            assert run_and_count(cg, m, rx, 4) == 4
    finally:
        os.close(fd)  # the caller's fd is still its own


def test_sock_create_and_connect4(cg):
    with counter_map() as m, \
            Program(ProgType.CGROUP_SOCK, counting_verdict(m.fd, 1), name="sock_create") as create, \
            Program(ProgType.CGROUP_SOCK_ADDR, counting_verdict(m.fd, 1), name="connect4",
                    expected_attach_type=AttachType.CGROUP_INET4_CONNECT) as connect, \
            Cgroup(create, cg.path, AttachType.CGROUP_INET_SOCK_CREATE), \
            Cgroup(connect, cg.path, AttachType.CGROUP_INET4_CONNECT):

        def work() -> None:
            for _ in range(3):  # 3 creations + 3 connects
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.connect(("127.0.0.1", 9))  # UDP connect sends nothing
        cg.run(work)
        assert counter(m) == 6


def test_missing_cgroup(egress_counter, no_fd_leak):
    _, prog = egress_counter
    with pytest.raises(NotFoundError, match="no cgroup directory /sys/fs/cgroup/purebpf-does-not-exist"):
        Cgroup(prog, "/sys/fs/cgroup/purebpf-does-not-exist", AttachType.CGROUP_INET_EGRESS)


@pytest.mark.parametrize("legacy", [False, True], ids=["link", "prog_attach"])
def test_not_a_cgroup2_directory(egress_counter, tmp_path, no_fd_leak, legacy):
    _, prog = egress_counter
    with pytest.raises(InvalidInputError, match="is not a cgroup v2 directory"):
        Cgroup(prog, str(tmp_path), AttachType.CGROUP_INET_EGRESS, legacy=legacy)


def test_wrong_program_or_hook(cg, egress_counter, no_fd_leak):
    _, prog = egress_counter
    with pytest.raises(InvalidInputError, match="cgroup sock_ops runs programs of type SOCK_OPS, but program "
                                                "'skb_count' is CGROUP_SKB"):
        Cgroup(prog, cg.path, AttachType.CGROUP_SOCK_OPS)
    with pytest.raises(InvalidInputError, match="XDP is not a cgroup hook"):
        Cgroup(prog, cg.path, AttachType.XDP)
    with counter_map() as m, Program(ProgType.CGROUP_SOCK_ADDR, counting_verdict(m.fd, 1), name="connect4",
                                     expected_attach_type=AttachType.CGROUP_INET4_CONNECT) as connect:
        with pytest.raises(InvalidInputError, match="loaded for CGROUP_INET4_CONNECT; load it with "
                                                    "expected_attach_type=AttachType.CGROUP_INET4_BIND"):
            Cgroup(connect, cg.path, AttachType.CGROUP_INET4_BIND)
