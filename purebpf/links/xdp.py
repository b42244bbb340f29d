"""XDP: run a program on every packet a network device receives, before the stack.

    link = XDP(prog, "veth0", mode="native")   # or mode="generic", or None: let the kernel pick

Uses an XDP bpf_link (Linux 5.9+), so closing the link (or the process
exiting) detaches the program, and a second XDP link on the same device
fails with EBUSY instead of silently replacing it.  The device is looked up
in the calling thread's network namespace.
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError
from purebpf.links.attach import link_create, require_program
from purebpf.links.link import Link
from purebpf.links.netdev import resolve_ifindex
from purebpf.programs import Program
from purebpf.sys import AttachType, ProgType
from purebpf.sys.constants import XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE, XDP_FLAGS_SKB_MODE

MODES = {None: 0, "native": XDP_FLAGS_DRV_MODE, "generic": XDP_FLAGS_SKB_MODE, "offload": XDP_FLAGS_HW_MODE}


class XDP(Link):
    """An XDP program attached to one interface (by name or index)."""

    kind = "xdp"

    def __init__(self, prog: Program, iface: str | int, *, mode: str | None = None) -> None:
        require_program(prog, [ProgType.XDP], "XDP")
        if mode not in MODES:
            raise InvalidInputError(f"unknown XDP mode {mode!r}: use 'native', 'generic', 'offload' or None")
        self.ifindex, self.ifname = resolve_ifindex(iface)
        self.mode = mode
        what = f"xdp program on {self.ifname}" + (f" ({mode} mode)" if mode else "")
        super().__init__(link_create(prog, self.ifindex, AttachType.XDP, what, flags=MODES[mode]))

    def __repr__(self) -> str:
        state = "closed" if self.closed else "attached"
        return f"<XDP {self.ifname} mode={self.mode or 'auto'} {state}>"
