"""Network interfaces named by the caller: a name or an index, checked to exist.

Interface names and indexes belong to a network namespace: the lookup (and
the attach that follows) happens in the calling thread's namespace, so a
caller attaching inside another netns must enter it first.
"""

from __future__ import annotations

import socket

from purebpf.errors import InvalidInputError, NotFoundError

IFNAMSIZ = 16


def resolve_ifindex(iface: str | int) -> tuple[int, str]:
    """``(ifindex, name)`` of the interface named or numbered ``iface``."""
    if isinstance(iface, bool) or not isinstance(iface, (str, int)):
        raise InvalidInputError(f"a network interface is a name or an index, not {iface!r}")
    if isinstance(iface, int):
        if iface <= 0:
            raise InvalidInputError(f"interface index must be positive, not {iface}")
        try:
            return iface, socket.if_indextoname(iface)
        except OSError:
            raise NotFoundError(f"no network interface with index {iface} in this network namespace "
                                "(see `ip link`)") from None
    if not iface or len(iface.encode()) >= IFNAMSIZ or "\0" in iface or "/" in iface:
        raise InvalidInputError(f"{iface!r} is not a valid interface name (1-15 bytes, no '/' or NUL)")
    try:
        return socket.if_nametoindex(iface), iface
    except OSError:
        raise NotFoundError(f"no network interface named {iface!r} in this network namespace "
                            "(see `ip link`)") from None
