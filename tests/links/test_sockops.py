"""sockops links on a fresh cgroup v2: count TCP connections made inside it."""

from __future__ import annotations

import socket

import pytest
from nettest import TempCgroup, cgroup2_root, counter, counter_map, counting_verdict, sockops_established_counter

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import SockOps
from purebpf.programs import Program
from purebpf.sys import AttachType, LinkType, ProgType

pytestmark = pytest.mark.skipif(cgroup2_root() is None, reason="cgroup v2 is not mounted")

N = 5
ACTIVE, PASSIVE = 0, 1


@pytest.fixture
def cg():
    with TempCgroup() as group:
        yield group


@pytest.fixture
def counted():
    with counter_map() as m, Program(ProgType.SOCK_OPS, sockops_established_counter(m.fd), name="est_count") as p:
        yield m, p


def connect_many(listener: socket.socket, count: int) -> None:
    """``count`` loopback TCP connections to ``listener``, each accepted then closed."""
    for _ in range(count):
        with socket.create_connection(listener.getsockname(), timeout=5):
            conn, _ = listener.accept()
            conn.close()


def loopback_listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(N)
    listener.settimeout(5)
    return listener


@pytest.mark.parametrize("legacy", [False, True], ids=["link", "prog_attach"])
def test_sockops_counts_connections_in_the_cgroup(cg, counted, legacy):
    m, prog = counted
    with SockOps(prog, cg.path, legacy=legacy) as link, loopback_listener() as outside:
        assert link.legacy == legacy and link.attach_type == AttachType.CGROUP_SOCK_OPS
        if not legacy:
            assert link.info().type == LinkType.CGROUP
        # the child connects to a listener of ours (outside the cgroup): only its side counts
        cg.run(lambda: connect_many(outside, N))
        assert (counter(m, ACTIVE), counter(m, PASSIVE)) == (N, 0)

        # both ends inside the cgroup: both sides count
        def both_inside() -> None:
            with loopback_listener() as inside:
                connect_many(inside, N)
        cg.run(both_inside)
        assert (counter(m, ACTIVE), counter(m, PASSIVE)) == (2 * N, N)

        connect_many(outside, 2)  # this process is not in the cgroup
        assert (counter(m, ACTIVE), counter(m, PASSIVE)) == (2 * N, N)
    with loopback_listener() as outside:
        cg.run(lambda: connect_many(outside, 2))
    assert counter(m, ACTIVE) == 2 * N  # detached


def test_sockops_bad_inputs(cg, no_fd_leak):
    with counter_map() as m, Program(ProgType.SK_MSG, counting_verdict(m.fd), name="msg") as wrong:
        with pytest.raises(InvalidInputError, match="SOCK_OPS, but program 'msg' is SK_MSG"):
            SockOps(wrong, cg.path)
    with counter_map() as m, Program(ProgType.SOCK_OPS, sockops_established_counter(m.fd)) as prog:
        with pytest.raises(NotFoundError, match="no cgroup directory"):
            SockOps(prog, cg.path + "-missing")
