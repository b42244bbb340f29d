"""tc links (tcx and the clsact fallback) on a veth pair between two fresh namespaces."""

from __future__ import annotations

import subprocess

import pytest
from nettest import LoopbackNetns, VethPair, counter, counter_map, kernel_version, tc_udp_counter, xdp_udp_counter

from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError, SyscallError
from purebpf.links import TC
from purebpf.programs import Program
from purebpf.sys import LinkType, ProgType

PORT = 40124
N = 20


@pytest.fixture
def net():
    with VethPair() as pair:
        yield pair


@pytest.fixture
def counted():
    """(counter map, SCHED_CLS program counting UDP packets to PORT)."""
    with counter_map() as m, Program(ProgType.SCHED_CLS, tc_udp_counter(m.fd, PORT), name="tc_count") as prog:
        yield m, prog


def tc_show(ns: str, *args: str) -> str:
    """What the `tc` tool reports (an oracle independent of purebpf)."""
    return subprocess.run(["tc", "-n", ns, *args], capture_output=True, text=True, check=True).stdout


def where(net: VethPair, direction: str) -> tuple[str, str]:
    """Ingress is watched on the receiving end, egress on the sending end."""
    return (net.ns_b, net.veth_b) if direction == "ingress" else (net.ns_a, net.veth_a)


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_tcx_counts_exactly_the_packets_sent(net, counted, direction):
    m, prog = counted
    ns, dev = where(net, direction)
    with net.inside(ns):
        link = TC(prog, dev, direction)
    with link:
        assert not link.legacy and link.info().type == LinkType.TCX  # kernel 6.6+ here
        assert link.info().prog_id == prog.id
        assert net.send_udp(N, PORT) == N
        assert counter(m) == N
    assert net.send_udp(4, PORT) == 4
    assert counter(m) == N  # closed: detached


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_clsact_counts_exactly_the_packets_sent_and_cleans_up(net, counted, direction):
    m, prog = counted
    ns, dev = where(net, direction)
    assert "clsact" not in tc_show(ns, "qdisc", "show", "dev", dev)
    with net.inside(ns):
        link = TC(prog, dev, direction, legacy=True)
    with link:
        assert link.legacy and not link.is_bpf_link
        with pytest.raises(NotSupportedError):
            link.pin("/sys/fs/bpf/never")
        assert "clsact" in tc_show(ns, "qdisc", "show", "dev", dev)
        filters = tc_show(ns, "filter", "show", "dev", dev, direction)
        assert "tc_count" in filters and "direct-action" in filters
        assert net.send_udp(N, PORT) == N
        assert counter(m) == N
    assert link.closed
    assert tc_show(ns, "filter", "show", "dev", dev, direction).strip() == ""
    assert "clsact" not in tc_show(ns, "qdisc", "show", "dev", dev)  # we created it, so we removed it
    assert net.send_udp(4, PORT) == 4
    assert counter(m) == N
    link.close()  # idempotent


def test_clsact_leaves_a_qdisc_it_did_not_create_and_other_filters(net, counted):
    m, prog = counted
    ns, dev = net.ns_b, net.veth_b
    subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "clsact"], check=True)
    with net.inside(ns):
        first = TC(prog, dev, "ingress", legacy=True)
        second = TC(prog, dev, "ingress", legacy=True)
    assert net.send_udp(N, PORT) == N
    assert counter(m) == 2 * N  # both filters ran (each returns TC_ACT_UNSPEC: "next")
    first.close()
    assert tc_show(ns, "filter", "show", "dev", dev, "ingress").count("direct-action") == 1
    second.close()
    assert tc_show(ns, "filter", "show", "dev", dev, "ingress").strip() == ""
    assert "clsact" in tc_show(ns, "qdisc", "show", "dev", dev)


def test_tcx_and_clsact_together(net, counted):
    m, prog = counted
    with net.inside(net.ns_b), TC(prog, net.veth_b) as tcx, TC(prog, net.veth_b, legacy=True) as cls:
        assert not tcx.legacy and cls.legacy
        assert net.send_udp(N, PORT) == N
    assert counter(m) == 2 * N


@pytest.mark.guest_kernel
def test_falls_back_to_clsact_by_itself_without_tcx(counted):
    """Under the guest kernel (Debian 6.1, before tcx) TC() must pick clsact on its own.
    On `lo` of a fresh namespace: the guest has no veth driver."""
    m, prog = counted
    with LoopbackNetns() as net:
        with net.inside(net.ns):
            try:
                link = TC(prog, "lo", "ingress")
            except NotSupportedError as exc:
                # the fallback was taken, but the guest cannot load sch_ingress/cls_bpf modules
                assert kernel_version() < (6, 6) and "this kernel has no" in str(exc)
                pytest.skip(str(exc))
        with link:
            assert link.legacy == (kernel_version() < (6, 6))
            assert net.send_udp(N, PORT) == N
        assert counter(m) == N
        assert "clsact" not in tc_show(net.ns, "qdisc", "show", "dev", "lo")


def test_unknown_interface(counted, no_fd_leak):
    _, prog = counted
    for legacy in (False, True):
        with pytest.raises(NotFoundError, match="'nosuchdev0'"):
            TC(prog, "nosuchdev0", legacy=legacy)


def test_bad_direction(counted, no_fd_leak):
    _, prog = counted
    with pytest.raises(InvalidInputError, match="unknown tc direction 'sideways'"):
        TC(prog, "lo", "sideways")


def test_wrong_program_type(no_fd_leak):
    with counter_map() as m, Program(ProgType.XDP, xdp_udp_counter(m.fd, PORT), name="xdp_prog") as prog:
        for legacy in (False, True):
            with pytest.raises(InvalidInputError, match="tc runs programs of type SCHED_CLS, but program "
                                                        "'xdp_prog' is XDP"):
                TC(prog, "lo", legacy=legacy)


def test_clsact_refuses_an_ingress_qdisc_in_its_place(net, counted, no_fd_leak):
    """An `ingress` qdisc would take the egress filter as an ingress one: a clear error, nothing left."""
    _, prog = counted
    subprocess.run(["tc", "-n", net.ns_b, "qdisc", "add", "dev", net.veth_b, "ingress"], check=True)
    with net.inside(net.ns_b), pytest.raises(SyscallError, match="has an ingress qdisc where clsact goes"):
        TC(prog, net.veth_b, "egress", legacy=True)
    assert tc_show(net.ns_b, "filter", "show", "dev", net.veth_b, "ingress").strip() == ""
