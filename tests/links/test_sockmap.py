"""sk_msg / sk_skb programs on sockmaps and sockhashes, over loopback TCP."""

from __future__ import annotations

import contextlib
import socket

import pytest
from nettest import LoopbackNetns, counter, counter_map, counting_verdict, kernel_version

from purebpf.errors import InvalidInputError, SyscallError
from purebpf.links import SockMapAttach
from purebpf.maps import Map
from purebpf.programs import Program
from purebpf.sys import AttachType, LinkType, MapType, ProgType

N = 12


@contextlib.contextmanager
def tcp_pair():
    """(client, server) ends of one loopback TCP connection."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            server, _ = listener.accept()
            with server:
                server.settimeout(5)
                yield client, server


def add_sockets(sock_map: Map, *socks: socket.socket, base: int = 0) -> None:
    for i, sock in enumerate(socks):
        sock_map.update_raw((base + i).to_bytes(4, "little"), sock.fileno().to_bytes(4, "little"))


def send_and_receive(client: socket.socket, server: socket.socket, count: int) -> bytes:
    sent = b""
    for i in range(count):
        msg = b"message %03d\n" % i
        client.sendall(msg)
        sent += msg
    got = b""
    while len(got) < len(sent):
        chunk = server.recv(4096)
        assert chunk, "connection closed early"
        got += chunk
    assert got == sent  # SK_PASS: the data arrives unchanged
    return got


@pytest.fixture(params=[MapType.SOCKMAP, MapType.SOCKHASH], ids=["sockmap", "sockhash"])
def sock_map(request):
    with Map(request.param, 4, 4, 8, name="socks") as m:
        yield m


@pytest.mark.parametrize("legacy", [False, True], ids=["link", "prog_attach"])
def test_sk_msg_counts_each_send_and_data_still_arrives(sock_map, legacy):
    with counter_map() as m, Program(ProgType.SK_MSG, counting_verdict(m.fd), name="msg_count") as prog:
        link = SockMapAttach(prog, sock_map, AttachType.SK_MSG_VERDICT, legacy=legacy)
        with link, tcp_pair() as (client, server):
            assert link.legacy == legacy
            if not legacy:
                assert link.info().type == LinkType.SOCKMAP and link.info().prog_id == prog.id
            add_sockets(sock_map, client, server)  # sockets take the map's programs when added
            send_and_receive(client, server, N)
            assert counter(m) == N
            server.sendall(b"reply")  # the server end is in the map too
            assert client.recv(16) == b"reply"
            assert counter(m) == N + 1
        assert link.closed
        # detached: sockets added from now on run nothing
        with tcp_pair() as (client, server):
            add_sockets(sock_map, client, server, base=2)
            send_and_receive(client, server, 3)
        assert counter(m) == N + 1


@pytest.mark.guest_kernel
def test_falls_back_to_prog_attach_by_itself_without_sockmap_links(sock_map):
    """Under the guest kernel (Debian 6.1, before sockmap links) the attach picks PROG_ATTACH on its own."""
    with counter_map() as m, Program(ProgType.SK_MSG, counting_verdict(m.fd), name="msg_count") as prog, \
            LoopbackNetns() as net:
        with SockMapAttach(prog, sock_map, AttachType.SK_MSG_VERDICT) as link, net.inside(net.ns), \
                tcp_pair() as (client, server):
            assert link.legacy == (kernel_version() < (6, 10))
            add_sockets(sock_map, client, server)
            send_and_receive(client, server, N)
            assert counter(m) == N


def test_one_link_per_hook(sock_map, no_fd_leak):
    with counter_map() as m, Program(ProgType.SK_MSG, counting_verdict(m.fd), name="msg_count") as prog:
        with SockMapAttach(prog, sock_map, AttachType.SK_MSG_VERDICT) as link:
            if link.legacy:
                pytest.skip("no sockmap links on this kernel: PROG_ATTACH replaces instead")
            with pytest.raises(SyscallError, match="EBUSY"):
                SockMapAttach(prog, sock_map, AttachType.SK_MSG_VERDICT)
        SockMapAttach(prog, sock_map, AttachType.SK_MSG_VERDICT).close()  # free again once closed


@pytest.mark.parametrize("legacy", [False, True], ids=["link", "prog_attach"])
def test_sk_skb_stream_verdict_sees_received_data(sock_map, legacy):
    with counter_map() as m, Program(ProgType.SK_SKB, counting_verdict(m.fd), name="skb_count") as prog:
        with SockMapAttach(prog, sock_map, AttachType.SK_SKB_STREAM_VERDICT, legacy=legacy) as link, \
                tcp_pair() as (client, server):
            assert link.legacy == legacy
            add_sockets(sock_map, server)
            send_and_receive(client, server, N)
            assert 1 <= counter(m) <= N  # one run per received skb; loopback may coalesce sends


def test_bad_inputs(sock_map, no_fd_leak):
    with counter_map() as m, Program(ProgType.SK_MSG, counting_verdict(m.fd), name="msg") as msg, \
            Program(ProgType.SK_SKB, counting_verdict(m.fd), name="skb") as skb:
        with pytest.raises(InvalidInputError, match="sk_skb_stream_verdict runs programs of type SK_SKB, "
                                                    "but program 'msg' is SK_MSG"):
            SockMapAttach(msg, sock_map, AttachType.SK_SKB_STREAM_VERDICT)
        with pytest.raises(InvalidInputError, match="SOCKMAP or SOCKHASH map, but map 'pb_count' is ARRAY"):
            SockMapAttach(skb, m, AttachType.SK_SKB_VERDICT)
        with pytest.raises(InvalidInputError, match="CGROUP_SOCK_OPS is not a sockmap hook"):
            SockMapAttach(skb, sock_map, AttachType.CGROUP_SOCK_OPS)
