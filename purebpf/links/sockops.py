"""sockops: a SOCK_OPS program called at TCP events (connect, accept, RTT,
state changes...) of every socket of a cgroup v2.

    link = SockOps(prog, "/sys/fs/cgroup/app")

The usual partner of :class:`purebpf.links.sockmap.SockMapAttach`: a sockops
program adds established sockets to a sockmap, whose sk_msg program then
steers their data.  A cgroup bpf_link on Linux 5.7+, PROG_ATTACH before (see
:class:`purebpf.links.cgroup.Cgroup`, which this is with the hook fixed).
"""

from __future__ import annotations

import os

from purebpf.links.cgroup import Cgroup
from purebpf.programs import Program
from purebpf.sys import AttachType


class SockOps(Cgroup):
    """A SOCK_OPS program on one cgroup v2 (path or fd)."""

    kind = "sockops"

    def __init__(self, prog: Program, cgroup: str | os.PathLike | int, *, legacy: bool = False) -> None:
        super().__init__(prog, cgroup, AttachType.CGROUP_SOCK_OPS, legacy=legacy)
