"""sockmap: run sk_msg / sk_skb programs on the sockets stored in a sockmap or sockhash.

    link = SockMapAttach(prog, sock_map, AttachType.SK_MSG_VERDICT)

``SK_MSG_VERDICT`` (an SK_MSG program) sees each ``sendmsg`` of a socket in
the map and may pass, drop or redirect it; ``SK_SKB_STREAM_PARSER``,
``SK_SKB_STREAM_VERDICT`` and ``SK_SKB_VERDICT`` (SK_SKB programs) see
received data.  Attach before adding sockets: a socket takes the map's
programs when it is inserted.  A sockmap bpf_link on Linux 6.10+; before
that PROG_ATTACH with the map as target, undone by PROG_DETACH on close
(``legacy`` tells which, ``legacy=True`` forces it).  A map holds one
program per attach type, so a second attach of the same type fails with
EBUSY (link) or replaces the first (PROG_ATTACH).
"""

from __future__ import annotations

import os

from purebpf.errors import InvalidInputError, SyscallError
from purebpf.links.attach import FallbackLink, ProgAttachment, link_create, no_link_for_hook, require_program
from purebpf.maps import Map
from purebpf.programs import Program
from purebpf.sys import FD, AttachType, MapType, ProgType

SOCKMAP_HOOKS: dict[AttachType, ProgType] = {
    AttachType.SK_MSG_VERDICT: ProgType.SK_MSG,
    AttachType.SK_SKB_STREAM_PARSER: ProgType.SK_SKB,
    AttachType.SK_SKB_STREAM_VERDICT: ProgType.SK_SKB,
    AttachType.SK_SKB_VERDICT: ProgType.SK_SKB,
}
SOCK_MAP_TYPES = (MapType.SOCKMAP, MapType.SOCKHASH)


class SockMapAttach(FallbackLink):
    """An sk_msg or sk_skb program on one sockmap/sockhash."""

    kind = "sockmap"

    def __init__(self, prog: Program, map_: Map, attach_type: AttachType, *, legacy: bool = False) -> None:
        try:
            attach_type = AttachType(attach_type)
        except ValueError:
            raise InvalidInputError(f"unknown attach type {attach_type!r}") from None
        if attach_type not in SOCKMAP_HOOKS:
            raise InvalidInputError(f"{attach_type.name} is not a sockmap hook: use one of "
                                    f"{', '.join(t.name for t in SOCKMAP_HOOKS)}")
        hook = attach_type.name.lower()
        require_program(prog, [SOCKMAP_HOOKS[attach_type]], hook)
        if not isinstance(map_, Map) or map_.closed:
            raise InvalidInputError(f"{hook} needs an open sockmap or sockhash Map, not {map_!r}")
        if map_.type not in SOCK_MAP_TYPES:
            raise InvalidInputError(f"{hook} programs attach to a SOCKMAP or SOCKHASH map, "
                                    f"but map '{map_.name}' is {map_.type.name}")
        self.attach_type = attach_type
        self.map_name = map_.name
        what = f"{hook} program on map '{map_.name}'" if map_.name else f"{hook} program on a {map_.type.name} map"
        if not legacy:
            try:
                super().__init__(link_create(prog, map_.fd, attach_type, what))
                return
            except SyscallError as exc:
                if not no_link_for_hook(exc):
                    raise
        # the attachment keeps its own map fd for PROG_DETACH, whatever the caller closes
        super().__init__(None, ProgAttachment(FD(os.dup(map_.fd)), prog, attach_type, what))

    def __repr__(self) -> str:
        how = "prog_attach" if self.legacy else "link"
        return f"<SockMapAttach {self.attach_type.name} on '{self.map_name}' ({how}) " \
               f"{'closed' if self.closed else 'attached'}>"
