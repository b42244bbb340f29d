"""cgroup: run a program on the sockets and packets of every process in a cgroup v2.

    link = Cgroup(prog, "/sys/fs/cgroup/app", AttachType.CGROUP_INET_EGRESS)

A cgroup bpf_link (Linux 5.7+): closing it detaches, and it coexists with
other programs on the same hook (multi-attach).  On older kernels the program
goes in with PROG_ATTACH (``BPF_F_ALLOW_MULTI``) and is taken out with
PROG_DETACH on close; ``legacy`` tells which path was taken (forced with
``legacy=True``).  The cgroup is a path to a cgroup v2 directory or an open
fd of one (which the link duplicates: the caller keeps its own).
"""

from __future__ import annotations

import errno
import os

from purebpf.errors import InvalidInputError, NotFoundError, SyscallError
from purebpf.links.attach import FallbackLink, ProgAttachment, link_create, no_link_for_hook, require_program
from purebpf.programs import Program
from purebpf.sys import FD, AttachType, ProgType
from purebpf.sys.constants import BPF_F_ALLOW_MULTI

A = AttachType
# which program type each cgroup hook runs (the kernel's attach_type_to_prog_type)
CGROUP_HOOKS: dict[AttachType, ProgType] = {
    A.CGROUP_INET_INGRESS: ProgType.CGROUP_SKB,
    A.CGROUP_INET_EGRESS: ProgType.CGROUP_SKB,
    A.CGROUP_INET_SOCK_CREATE: ProgType.CGROUP_SOCK,
    A.CGROUP_INET_SOCK_RELEASE: ProgType.CGROUP_SOCK,
    A.CGROUP_INET4_POST_BIND: ProgType.CGROUP_SOCK,
    A.CGROUP_INET6_POST_BIND: ProgType.CGROUP_SOCK,
    A.CGROUP_SOCK_OPS: ProgType.SOCK_OPS,
    A.CGROUP_DEVICE: ProgType.CGROUP_DEVICE,
    A.CGROUP_SYSCTL: ProgType.CGROUP_SYSCTL,
    A.CGROUP_GETSOCKOPT: ProgType.CGROUP_SOCKOPT,
    A.CGROUP_SETSOCKOPT: ProgType.CGROUP_SOCKOPT,
    **{t: ProgType.CGROUP_SOCK_ADDR for t in (
        A.CGROUP_INET4_BIND, A.CGROUP_INET6_BIND, A.CGROUP_INET4_CONNECT, A.CGROUP_INET6_CONNECT,
        A.CGROUP_UDP4_SENDMSG, A.CGROUP_UDP6_SENDMSG, A.CGROUP_UDP4_RECVMSG, A.CGROUP_UDP6_RECVMSG,
        A.CGROUP_INET4_GETPEERNAME, A.CGROUP_INET6_GETPEERNAME, A.CGROUP_INET4_GETSOCKNAME,
        A.CGROUP_INET6_GETSOCKNAME)},
}
# program types the kernel binds to one hook at load time (expected_attach_type must match)
_STRICT = (ProgType.CGROUP_SOCK_ADDR, ProgType.CGROUP_SOCKOPT, ProgType.CGROUP_SOCK)


def _check_attach_type(prog: Program, attach_type: AttachType, hook: str) -> None:
    expected = int(prog.spec.expected_attach_type) if prog.spec is not None else 0
    if prog.type == ProgType.CGROUP_SOCK and expected == 0:
        expected = A.CGROUP_INET_SOCK_CREATE  # the kernel's default for CGROUP_SOCK
    if prog.type in _STRICT and expected != attach_type:
        was = A(expected).name if expected in A._value2member_map_ else str(expected)
        raise InvalidInputError(f"{hook}: program '{prog.name}' was loaded for {was}; load it with "
                                f"expected_attach_type=AttachType.{attach_type.name}")


def open_cgroup(cgroup: str | os.PathLike | int) -> tuple[FD, str]:
    """An owned fd of the cgroup directory and a label for messages."""
    if isinstance(cgroup, bool) or not isinstance(cgroup, (str, os.PathLike, int)):
        raise InvalidInputError(f"a cgroup is a directory path or an open fd, not {cgroup!r}")
    if isinstance(cgroup, int):
        try:
            return FD(os.dup(cgroup)), f"cgroup fd {cgroup}"
        except OSError:
            raise InvalidInputError(f"cgroup fd {cgroup} is not open") from None
    path = os.fspath(cgroup)
    try:
        return FD(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)), path
    except FileNotFoundError:
        raise NotFoundError(f"no cgroup directory {path} (cgroup v2 is mounted at /sys/fs/cgroup, "
                            "or /sys/fs/cgroup/unified on hybrid systems)") from None
    except NotADirectoryError:
        raise InvalidInputError(f"{path} is not a cgroup v2 directory") from None


class Cgroup(FallbackLink):
    """A program on one hook (``attach_type``) of one cgroup v2."""

    kind = "cgroup"

    def __init__(self, prog: Program, cgroup: str | os.PathLike | int, attach_type: AttachType, *,
                 legacy: bool = False) -> None:
        try:
            attach_type = AttachType(attach_type)
        except ValueError:
            raise InvalidInputError(f"unknown attach type {attach_type!r}") from None
        if attach_type not in CGROUP_HOOKS:
            raise InvalidInputError(f"{attach_type.name} is not a cgroup hook: use one of "
                                    f"{', '.join(t.name for t in CGROUP_HOOKS)}")
        hook = f"cgroup {attach_type.name.removeprefix('CGROUP_').lower()}"
        require_program(prog, [CGROUP_HOOKS[attach_type]], hook)
        _check_attach_type(prog, attach_type, hook)
        target, self.path = open_cgroup(cgroup)
        self.attach_type = attach_type
        what = f"{hook} program on {self.path}"
        try:
            if not legacy:
                try:
                    fd = link_create(prog, target.raw, attach_type, what)
                    target.close()
                    super().__init__(fd)
                    return
                except SyscallError as exc:
                    if not no_link_for_hook(exc):
                        raise
            # ProgAttachment owns target from here, closing it on failure too
            attachment = ProgAttachment(target, prog, attach_type, what, flags=BPF_F_ALLOW_MULTI)
        except SyscallError as exc:
            target.close()
            if exc.errno == errno.EBADF:
                raise InvalidInputError(f"{self.path} is not a cgroup v2 directory (cgroup v1 has no "
                                        "BPF hooks)") from None
            raise
        super().__init__(None, attachment)

    def __repr__(self) -> str:
        how = "prog_attach" if self.legacy else "link"
        return (f"<{type(self).__name__} {self.path} {self.attach_type.name} ({how}) "
                f"{'closed' if self.closed else 'attached'}>")
