"""The pre-tcx way to run a tc program: a ``bpf`` filter in direct-action mode
under the device's ``clsact`` qdisc, set up over rtnetlink (pyroute2).

Used by :class:`purebpf.links.tc.TC` on kernels before 6.6 (or when asked).
Unlike a bpf_link, the filter stays after the process exits, so the
:class:`ClsactFilter` removes it on :meth:`detach`, and the clsact qdisc too
when it created the qdisc and no other filter is left under it.  The netlink
socket is opened at attach time and kept: it stays bound to the network
namespace the filter lives in, whichever namespace the caller is in when it
detaches.
"""

from __future__ import annotations

import errno

from purebpf.errors import NotSupportedError, SyscallError, errno_hint
from purebpf.programs import Program

TC_H_CLSACT = 0xFFFFFFF1
PARENTS = {"ingress": 0xFFFFFFF2, "egress": 0xFFFFFFF3}  # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_{IN,E}GRESS)
ETH_P_ALL = 0x0003
FILTER_HANDLE = 1

# errnos on removal that mean the filter is already gone (device or netns destroyed)
_GONE = (errno.ENODEV, errno.ENOENT, errno.EINVAL)


# ENOENT when creating these means the kernel lacks the qdisc / classifier kind
_MISSING_KIND = {
    "RTM_NEWQDISC": "clsact qdisc (CONFIG_NET_SCH_INGRESS: try `modprobe sch_ingress`)",
    "RTM_NEWTFILTER": "bpf classifier (CONFIG_NET_CLS_BPF: try `modprobe cls_bpf`)",
}


def _netlink_error(op: str, exc: Exception, what: str) -> SyscallError | NotSupportedError:
    code = getattr(exc, "code", 0) or 0
    if code == errno.ENOENT and op in _MISSING_KIND:
        return NotSupportedError(f"cannot attach {what}: this kernel has no {_MISSING_KIND[op]}")
    name = errno.errorcode.get(code, str(code))
    return SyscallError(f"netlink {op} of {what} failed: {name} ({errno_hint(code) if code else exc})", code, op)


class ClsactFilter:
    """One ``bpf`` filter (direct-action) at its own priority under ``clsact``."""

    def __init__(self, prog: Program, ifindex: int, direction: str, what: str) -> None:
        from pyroute2 import IPRoute  # lazy: netlink is only needed on this path

        self.ifindex, self.direction, self.what = ifindex, direction, what
        self.parent = PARENTS[direction]
        self.prio = 0
        self.created_qdisc = False
        self._ipr = IPRoute()
        try:
            self.created_qdisc = self._add_clsact()
            self.prio = self._free_prio()
            self._call("RTM_NEWTFILTER", "add-filter", "bpf", handle=FILTER_HANDLE, fd=prog.fd,
                       name=(prog.name or "purebpf")[:15], parent=self.parent, classid=1, direct_action=True,
                       prio=self.prio, protocol=ETH_P_ALL)
        except BaseException:
            self.prio = 0
            try:
                self._drop_qdisc_if_ours()
            finally:
                self._ipr.close()
                self._ipr = None
            raise

    @property
    def attached(self) -> bool:
        return self._ipr is not None

    def detach(self) -> None:
        """Remove the filter (and the qdisc if ours and now empty); a second call does nothing."""
        if self._ipr is None:
            return
        try:
            try:
                self._call("RTM_DELTFILTER", "del-filter", "bpf", parent=self.parent, prio=self.prio,
                           protocol=ETH_P_ALL)
            except SyscallError as exc:
                if exc.errno not in _GONE:
                    raise
            self._drop_qdisc_if_ours()
        finally:
            self._ipr.close()
            self._ipr = None

    # -- netlink steps ----------------------------------------------------------------

    def _call(self, op: str, command: str, kind: str | None = None, **kwargs: object) -> list:
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            return self._ipr.tc(command, kind, self.ifindex, **kwargs)
        except NetlinkError as exc:
            raise _netlink_error(op, exc, self.what) from None

    def _add_clsact(self) -> bool:
        """Add the clsact qdisc; False when the device already has one."""
        try:
            self._call("RTM_NEWQDISC", "add", "clsact")
        except SyscallError as exc:
            if exc.errno != errno.EEXIST:
                raise
            self._check_existing_is_clsact()
            return False
        return True

    def _check_existing_is_clsact(self) -> None:
        """An ``ingress`` qdisc holds the same slot as clsact and would take an
        egress filter as an ingress one: refuse rather than count the wrong way."""
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            kinds = {msg.get_attr("TCA_KIND") for msg in self._ipr.get_qdiscs(index=self.ifindex)
                     if msg["handle"] == TC_H_CLSACT & 0xFFFF0000}
        except NetlinkError as exc:
            raise _netlink_error("RTM_GETQDISC", exc, self.what) from None
        if "clsact" not in kinds:
            other = ", ".join(sorted(k for k in kinds if k)) or "another"
            raise SyscallError(f"cannot attach {self.what}: the device has an {other} qdisc where clsact goes; "
                               "remove it first (tc qdisc del dev DEV ingress)", errno.EEXIST, "RTM_NEWQDISC")

    def _prios(self, parent: int) -> set[int]:
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            msgs = self._ipr.get_filters(index=self.ifindex, parent=parent)
        except NetlinkError as exc:
            raise _netlink_error("RTM_GETTFILTER", exc, self.what) from None
        return {msg["info"] >> 16 for msg in msgs}

    def _free_prio(self) -> int:
        """A priority no filter uses yet, so detaching removes exactly ours."""
        used = self._prios(self.parent)
        return max(used, default=0) + 1

    def _drop_qdisc_if_ours(self) -> None:
        if not self.created_qdisc:
            return
        try:
            if not any(self._prios(parent) for parent in PARENTS.values()):
                self._call("RTM_DELQDISC", "del", "clsact")
            # else someone added filters under the qdisc we made: leave it to them
        except SyscallError as exc:
            if exc.errno not in _GONE:
                raise
        self.created_qdisc = False
