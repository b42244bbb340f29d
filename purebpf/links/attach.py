"""The attach syscalls the networking and cgroup link kinds share.

Each kind module validates its own inputs and then calls :func:`link_create`
(a real ``bpf_link``) or, on kernels that predate the link for that hook,
:class:`ProgAttachment` (``PROG_ATTACH`` now, ``PROG_DETACH`` on close).
The fallback decision (:func:`no_link_for_hook`) is made in one place.
"""

from __future__ import annotations

import errno
import os

from purebpf.errors import InvalidInputError, SyscallError, syscall_error
from purebpf.links.link import Link
from purebpf.programs import Program
from purebpf.sys import FD, AttachType, Cmd, ProgType, bpf, bpf_raw
from purebpf.sys.attrs import LinkCreateAttr, ProgAttachAttr

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Protocol
else:
    Protocol = object  # Detachable is a plain base at run time

ENOTSUPP = 524  # kernel-internal "not supported", leaks to user space from some hooks

# errnos with which LINK_CREATE says "this kernel has no bpf_link for that hook"
_NO_LINK_ERRNOS = (errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP)


def require_program(prog: object, allowed: Iterable[ProgType], hook: str) -> Program:
    """Check ``prog`` is an open :class:`Program` of a type the hook accepts.

    Done before any kernel call so a wrong program gets a message naming both
    sides instead of the kernel's bare EINVAL.
    """
    allowed = tuple(allowed)
    names = " or ".join(t.name for t in allowed)
    if not isinstance(prog, Program):
        raise InvalidInputError(f"{hook} needs a loaded Program of type {names}, not {type(prog).__name__}")
    if prog.closed:
        raise InvalidInputError(f"{hook}: program '{prog.name}' is already closed")
    if prog.type not in allowed:
        label = f"'{prog.name}' " if prog.name else ""
        raise InvalidInputError(
            f"{hook} runs programs of type {names}, but program {label}is {prog.type.name}: "
            f"load it as ProgType.{allowed[0].name}")
    return prog


def link_create(prog: Program, target: int, attach_type: AttachType, what: str, *, flags: int = 0,
                **union: int) -> FD:
    """``BPF_LINK_CREATE``; ``union`` sets LinkCreateAttr's per-type fields (u32_0, u64_1...).

    Raises :class:`SyscallError`; :func:`no_link_for_hook` tells the refusals
    after which a caller may fall back to an older attach method.
    """
    attr = LinkCreateAttr(prog_fd=prog.fd, target_fd=target, attach_type=attach_type, flags=flags, **union)
    return FD(bpf(Cmd.LINK_CREATE, attr, what))


def no_link_for_hook(exc: SyscallError) -> bool:
    """True when LINK_CREATE's refusal may mean "this kernel has no bpf_link for
    that hook" (EINVAL for an unknown attach type): worth trying PROG_ATTACH or
    netlink.  A real error there fails again and is reported from that path."""
    return exc.errno in _NO_LINK_ERRNOS


class ProgAttachment:
    """An attachment made with ``PROG_ATTACH``: it lives until ``PROG_DETACH``.

    It owns a duplicate of the program fd (the kernel identifies what to detach
    by program, and the caller may close its Program first) and takes ownership
    of ``target`` (callers pass their own duplicate of a map or cgroup fd),
    closing both on failure and on detach.
    """

    def __init__(self, target: FD, prog: Program, attach_type: AttachType, what: str, *, flags: int = 0) -> None:
        self.attach_type = attach_type
        self.what = what
        self._target = target
        try:
            self._prog = FD(os.dup(prog.fd))
        except BaseException:
            target.close()
            raise
        attr = ProgAttachAttr(target_fd=target.raw, attach_bpf_fd=self._prog.raw, attach_type=attach_type,
                              attach_flags=flags)
        ret, err = bpf_raw(Cmd.PROG_ATTACH, attr)
        if ret < 0:
            self._prog.close()
            self._target.close()
            raise syscall_error("BPF_PROG_ATTACH", err, what)

    @property
    def attached(self) -> bool:
        return not self._prog.closed

    def detach(self) -> None:
        """PROG_DETACH, then close the fds; a second call does nothing."""
        if not self.attached:
            return
        attr = ProgAttachAttr(target_fd=self._target.raw, attach_bpf_fd=self._prog.raw,
                              attach_type=self.attach_type)
        try:
            ret, err = bpf_raw(Cmd.PROG_DETACH, attr)
            # ENOENT: already gone (target destroyed, or detached behind our back)
            if ret < 0 and err != errno.ENOENT:
                raise syscall_error("BPF_PROG_DETACH", err, self.what)
        finally:
            self._prog.close()
            self._target.close()


class Detachable(Protocol):
    """An attachment that is not a bpf_link: PROG_ATTACH, a tc filter via netlink."""

    @property
    def attached(self) -> bool: ...

    def detach(self) -> None: ...


class FallbackLink(Link):
    """A kind that is a bpf_link where the kernel has one and an older attachment
    (``legacy``) elsewhere; closing undoes whichever it is."""

    def __init__(self, link_fd: FD | None, legacy: Detachable | None = None) -> None:
        super().__init__(link_fd)
        self._legacy = legacy

    @property
    def legacy(self) -> bool:
        """True when attached the pre-bpf_link way (no link fd: not pinnable, no id)."""
        return self._legacy is not None

    def detach(self) -> None:
        """Detach now: BPF_LINK_DETACH for a link (even if pinned elsewhere), else undo the attachment."""
        if self._legacy is not None:
            self._legacy.detach()
        else:
            super().detach()

    def _detach(self) -> None:
        if self._legacy is not None:
            self._legacy.detach()

    @property
    def closed(self) -> bool:
        if self._legacy is not None:
            return not self._legacy.attached
        return super().closed
