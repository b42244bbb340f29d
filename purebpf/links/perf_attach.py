"""Attach a program to one perf event fd: the step tracepoint, kprobe, uprobe and
sampling links share.

On 5.15+ the attachment is a real bpf_link (LINK_CREATE with attach type
PERF_EVENT): it has an id, shows in ``purebpf link list`` and can carry a
cookie.  Older kernels only know ``PERF_EVENT_IOC_SET_BPF``; the perf event fd
itself then keeps the program attached, and closing it detaches.
"""

from __future__ import annotations

import errno

from purebpf.errors import InvalidInputError, SyscallError, syscall_error
from purebpf.links.attach import link_create, no_link_for_hook
from purebpf.links.link import Link, LinkGroup
from purebpf.programs import Program
from purebpf.sys import FD, AttachType
from purebpf.sys import perf as perf_sys

TYPE_CHECKING = False  # collections.abc would import collections on the tools' start-up path
if TYPE_CHECKING:
    from collections.abc import Iterable


class PerfEventLink(Link):
    """A program attached to one perf event.  ``fd`` is the bpf_link (5.15+);
    the perf event fd is kept in :attr:`perf_fd` and closed with the link.

    Attach kinds built on perf events (tracepoint, kprobe, uprobe) subclass
    this: they validate, open the event and hand it over here."""

    kind = "perf event"

    def __init__(self, prog: Program, perf_fd: FD, *, what: str = "", cookie: int = 0) -> None:
        """Attach ``prog`` to the open perf event ``perf_fd``, which this link
        owns from now on (it is closed here on any error, too)."""
        try:
            link_fd = _link_create(prog, perf_fd, what or self.kind, cookie)
        except BaseException:
            perf_fd.close()
            raise
        super().__init__(link_fd, extra=[perf_fd])
        self._perf_fd = perf_fd

    @property
    def perf_fd(self) -> int:
        return self._perf_fd.raw

    @property
    def closed(self) -> bool:
        return self._perf_fd.closed


class PerfEventGroup(LinkGroup):
    """A :class:`LinkGroup` of :class:`PerfEventLink`: sampling events per CPU, breakpoints per thread,
    uprobes per USDT site."""

    def _attach_each(self, prog: Program, events: Iterable[tuple[int, str, int]]) -> None:
        """Attach ``prog`` to each ``(perf event fd, what, cookie)`` as ``events`` opens them; on any
        failure the events attached so far are closed too, so a half-made group never stays."""
        try:
            for raw, what, cookie in events:
                self.links.append(PerfEventLink(prog, FD(raw), what=what, cookie=cookie))
        except BaseException:
            self.close()
            raise


def _link_create(prog: Program, perf_fd: FD, what: str, cookie: int) -> FD | None:
    """The bpf_link fd, or None after a successful legacy SET_BPF attachment."""
    if not 0 <= cookie < 1 << 64:
        raise InvalidInputError(f"cookie {cookie} does not fit in 64 bits")
    try:  # bpf_cookie: u64 at +16 of the perf_event union
        return link_create(prog, perf_fd.raw, AttachType.PERF_EVENT, what,
                           u32_0=cookie & 0xFFFFFFFF, u32_1=cookie >> 32)
    except SyscallError as exc:
        if cookie or not no_link_for_hook(exc):
            raise _hint(exc, what) from None
    # pre-5.15: the perf event itself holds the program
    try:
        perf_sys.set_bpf(perf_fd.raw, prog.fd)
        perf_sys.enable(perf_fd.raw)
    except OSError as exc:
        raise _hint(syscall_error("PERF_EVENT_IOC_SET_BPF", exc.errno or errno.EINVAL, what), what) from None
    return None


def _hint(exc: SyscallError, what: str) -> SyscallError:
    if exc.errno == errno.EINVAL:
        exc.args = (exc.args[0] + f"; is the program type right for a {what}?",)
    return exc
