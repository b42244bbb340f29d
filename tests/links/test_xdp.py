"""XDP links on a veth pair between two fresh network namespaces."""

from __future__ import annotations

import socket
import subprocess

import pytest
from nettest import VethPair, counter, counter_map, tc_udp_counter, xdp_udp_counter

from purebpf.errors import InvalidInputError, NotFoundError, SyscallError
from purebpf.links import XDP
from purebpf.programs import Program
from purebpf.sys import LinkType, ProgType

PORT = 40123
N = 25


@pytest.fixture
def net():
    with VethPair() as pair:
        yield pair


@pytest.fixture
def counted():
    """(counter map, XDP program counting UDP packets to PORT)."""
    with counter_map() as m, Program(ProgType.XDP, xdp_udp_counter(m.fd, PORT), name="xdp_count") as prog:
        yield m, prog


def xdp_prog_on(ns: str, dev: str) -> str:
    """What `ip link` reports for ``dev`` (an oracle independent of purebpf)."""
    return subprocess.run(["ip", "-n", ns, "-d", "link", "show", dev], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("mode", ["native", "generic", None])
def test_xdp_counts_exactly_the_packets_sent(net, counted, mode):
    m, prog = counted
    with net.inside(net.ns_b):
        link = XDP(prog, net.veth_b, mode=mode)
    with link:
        assert link.is_bpf_link and link.info().type == LinkType.XDP
        assert link.info().prog_id == prog.id
        assert "prog/xdp" in xdp_prog_on(net.ns_b, net.veth_b)
        assert net.send_udp(N, PORT) == N  # XDP_PASS lets them through
        assert counter(m) == N
    assert "prog/xdp" not in xdp_prog_on(net.ns_b, net.veth_b)
    assert net.send_udp(5, PORT) == 5
    assert counter(m) == N  # detached: nothing more counted


def test_xdp_by_index(net, counted):
    m, prog = counted
    with net.inside(net.ns_b):
        index = socket.if_nametoindex(net.veth_b)
        with XDP(prog, index, mode="generic") as link:
            assert link.ifname == net.veth_b and link.ifindex == index
            assert net.send_udp(3, PORT) == 3
    assert counter(m) == 3


def test_second_xdp_link_on_same_device_is_refused(net, counted, no_fd_leak):
    _, prog = counted
    with net.inside(net.ns_b), XDP(prog, net.veth_b):
        with pytest.raises(SyscallError, match="EBUSY"):
            XDP(prog, net.veth_b)


def test_unknown_interface(counted, no_fd_leak):
    _, prog = counted
    with pytest.raises(NotFoundError, match="no network interface named 'nosuchdev0'"):
        XDP(prog, "nosuchdev0")
    with pytest.raises(NotFoundError, match="index 987654"):
        XDP(prog, 987654)


def test_bad_inputs(counted, no_fd_leak):
    _, prog = counted
    with pytest.raises(InvalidInputError, match="unknown XDP mode 'fast'"):
        XDP(prog, "lo", mode="fast")
    with pytest.raises(InvalidInputError, match="not a valid interface name"):
        XDP(prog, "x" * 20)


def test_wrong_program_type(no_fd_leak):
    with counter_map() as m, Program(ProgType.SCHED_CLS, tc_udp_counter(m.fd, PORT), name="tc_prog") as prog:
        with pytest.raises(InvalidInputError, match="XDP runs programs of type XDP, but program 'tc_prog' is "
                                                    "SCHED_CLS: load it as ProgType.XDP"):
            XDP(prog, "lo")
