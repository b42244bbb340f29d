"""Sockmap and sockhash with real TCP sockets on loopback."""

from __future__ import annotations

import socket
import struct

import pytest

from purebpf.errors import InvalidInputError, NotSupportedError
from purebpf.maps import Map, MapType
from purebpf.maps.sockmap import SockHash, SockMap

SO_COOKIE = getattr(socket, "SO_COOKIE", 57)


def cookie(sock: socket.socket) -> int:
    return struct.unpack("<Q", sock.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]


@pytest.fixture
def tcp():
    """A listening socket and an established client/server pair."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    yield listener, client, server
    for s in (client, server, listener):
        s.close()


def test_sockmap_stores_sockets_returns_cookies(tcp):
    listener, client, server = tcp
    with Map(MapType.SOCKMAP, 4, 8, 4, name="socks") as m:
        assert isinstance(m, SockMap)
        m[0] = client
        m[1] = server.fileno()
        m[2] = listener
        assert m[0] == cookie(client) and m[1] == cookie(server) and m[2] == cookie(listener)
        assert sorted(dict(m.items())) == [0, 1, 2] and len(m) == 3  # keys() lists every index
        del m[1]
        assert 1 not in m


def test_sockhash_any_key(tcp):
    _, client, server = tcp
    with Map(MapType.SOCKHASH, 12, 8, 4, key="<III") as m:
        assert isinstance(m, SockHash)
        m[(1, 2, 3)] = client
        assert m[(1, 2, 3)] == cookie(client) and len(m) == 1


def test_sockmap_value_size_4_cannot_be_read(tcp, no_fd_leak):
    _, client, _ = tcp
    with Map(MapType.SOCKMAP, 4, 4, 2, name="s4") as m:
        m[0] = client
        with pytest.raises(NotSupportedError, match="value_size 8"):
            m[0]
    with pytest.raises(InvalidInputError, match="needs value_size 4 .* or 8"):
        Map(MapType.SOCKMAP, 4, 2, 2)
