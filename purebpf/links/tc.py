"""tc: run a SCHED_CLS program on a device's ingress or egress path.

    link = TC(prog, "eth0", "ingress")          # tcx link where the kernel has it
    link = TC(prog, "eth0", "egress", legacy=True)   # clsact qdisc + bpf filter

On Linux 6.6+ this is a tcx bpf_link: closing it (or the process exiting)
detaches, and several programs can sit on one hook.  Older kernels have no
tcx (LINK_CREATE refuses the attach type with EINVAL), and there the program
goes in as a direct-action ``bpf`` filter under the ``clsact`` qdisc over
netlink (:mod:`purebpf.links.netlink_tc`); ``legacy`` tells which path was
taken.  The filter, unlike the link, survives the process, so close the link
(or use it as a context manager).  The program's return value is a tc action
(``TC_ACT_OK`` = 0 lets the packet through on both paths).
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError, SyscallError
from purebpf.links.attach import FallbackLink, link_create, no_link_for_hook, require_program
from purebpf.links.netdev import resolve_ifindex
from purebpf.links.netlink_tc import ClsactFilter
from purebpf.programs import Program
from purebpf.sys import AttachType, ProgType

TCX_ATTACH = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}


class TC(FallbackLink):
    """A tc program on one interface (name or index) and direction."""

    kind = "tc"

    def __init__(self, prog: Program, iface: str | int, direction: str = "ingress", *,
                 legacy: bool = False) -> None:
        require_program(prog, [ProgType.SCHED_CLS], "tc")
        if direction not in TCX_ATTACH:
            raise InvalidInputError(f"unknown tc direction {direction!r}: use 'ingress' or 'egress'")
        self.ifindex, self.ifname = resolve_ifindex(iface)
        self.direction = direction
        what = f"tc {direction} program on {self.ifname}"
        if not legacy:
            try:
                super().__init__(link_create(prog, self.ifindex, TCX_ATTACH[direction], what))
                return
            except SyscallError as exc:
                if not no_link_for_hook(exc):
                    raise
        super().__init__(None, ClsactFilter(prog, self.ifindex, direction, what))

    def __repr__(self) -> str:
        how = "clsact" if self.legacy else "tcx"
        return f"<TC {self.ifname} {self.direction} ({how}) {'closed' if self.closed else 'attached'}>"
