"""``Link``: the base of every attachment of a program to a hook.

Closing a link detaches the program.  Most attach kinds are real kernel
``bpf_link`` objects (pinnable, listed by ``purebpf link list``); the few that
are not (perf-event ``SET_BPF`` on old kernels, tc via netlink, cgroup
``PROG_ATTACH``) subclass :class:`Link` and override :meth:`_detach`.
"""

from __future__ import annotations

from purebpf.errors import BPFError, InvalidInputError, NotSupportedError
from purebpf.sys import FD, Cmd, bpf
from purebpf.sys.attrs import LinkDetachAttr, LinkInfo
from purebpf.sys.objects import fd_by_id, obj_get, obj_info, obj_pin

TYPE_CHECKING = False  # collections.abc imports collections (~1 ms): only type checkers read these
if TYPE_CHECKING:
    from collections.abc import Iterable


class Link:
    """An attachment owned through ``fd`` (a bpf_link fd, or for legacy kinds
    the fd that keeps the attachment alive, e.g. a perf event)."""

    kind = "link"

    def __init__(self, fd: int | FD | None, *, extra: list[FD] | None = None) -> None:
        self._fd = fd if isinstance(fd, FD) or fd is None else FD(fd)
        self._extra = extra or []  # further fds to close on detach (perf events per CPU...)

    @classmethod
    def from_pin(cls, path: str) -> Link:
        return cls(obj_get(path))

    @classmethod
    def from_id(cls, link_id: int) -> Link:
        return cls(fd_by_id("link", link_id))

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise NotSupportedError(f"a {self.kind} attachment has no link fd on this kernel")
        return self._fd.raw

    @property
    def is_bpf_link(self) -> bool:
        """True when the fd is a kernel bpf_link (pinnable, has an id)."""
        return self._fd is not None

    def info(self) -> LinkInfo:
        return obj_info(self.fd, LinkInfo())

    @property
    def id(self) -> int:
        return self.info().id

    def pin(self, path: str) -> None:
        """Pin the link in bpffs so the attachment outlives this process."""
        obj_pin(self.fd, path)

    def detach(self) -> None:
        """Detach now even if the link is pinned elsewhere (BPF_LINK_DETACH)."""
        bpf(Cmd.LINK_DETACH, LinkDetachAttr(link_fd=self.fd), f"detach {self.kind}")

    def _detach(self) -> None:
        """Undo a non-bpf_link attachment; bpf_links detach by closing their fd."""

    def close(self) -> None:
        try:
            self._detach()
        finally:
            if self._fd is not None:
                self._fd.close()
            for fd in self._extra:
                fd.close()
            self._extra = []

    @property
    def closed(self) -> bool:
        return self._fd is None or self._fd.closed

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # FDs close themselves at collection; only legacy detaches need running
        if type(self)._detach is not Link._detach:
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'closed' if self.closed else 'attached'}>"


class LinkGroup(Link):
    """One attachment made of several links (a perf event per CPU, a uprobe per USDT
    site, a breakpoint per thread): :attr:`links` holds them, closing closes them all."""

    def __init__(self) -> None:
        super().__init__(None)
        self.links: list[Link] = []

    @property
    def fd(self) -> int:
        if len(self.links) != 1:
            raise InvalidInputError(f"a {self.kind} made of {len(self.links)} links has no single fd: "
                                    "use .links[i].fd")
        return self.links[0].fd

    @property
    def is_bpf_link(self) -> bool:
        return bool(self.links) and all(link.is_bpf_link for link in self.links)

    def close(self) -> None:
        links, self.links = self.links, []
        for link in links:
            link.close()

    @property
    def closed(self) -> bool:
        return not self.links


def close_all(links: Iterable[Link]) -> list[BPFError]:
    """Close (detach) ``links`` concurrently; returns the errors instead of raising
    the first, so every link gets closed.

    Detaching waits in the kernel: removing a program from a tracepoint waits for
    an RCU grace period (tasks-trace RCU for syscall tracepoints), and the last
    perf event on a tracepoint waits for another, ~30-60 ms each.  One after the
    other, six tracepoint links took ~0.4 s to close; from one thread each, the
    waits overlap where the kernel allows it (~0.26 s).
    """
    links = list(links)
    errors: list[BPFError] = []

    def close(link: Link) -> None:
        try:
            link.close()
        except BPFError as exc:
            errors.append(exc)

    if len(links) < 2:
        for link in links:
            close(link)
        return errors
    import threading

    threads = [threading.Thread(target=close, args=(link,), name=f"close {link.kind}") for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
