"""Process filters turned into a bpftrace predicate, evaluated in the kernel
so unwatched processes cost one comparison and no map update.

A cgroup is matched by its cgroup v2 id (the inode number of its directory,
what ``bpf_get_current_cgroup_id`` returns): the process must be directly in
that cgroup, as a container's processes are in the container's cgroup.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from purebpf.agent.config import Filters
from purebpf.errors import InvalidInputError, NotFoundError


def cgroup2_root() -> Path:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup`` or, in hybrid mode, ``.../unified``)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] == "cgroup2":
                return Path(left.split(" ")[4])
    raise NotFoundError("no cgroup v2 hierarchy is mounted: mount -t cgroup2 none /sys/fs/cgroup/unified")


def resolve_cgroup(spec: str) -> tuple[int, str]:
    """(cgroup id, path relative to the v2 root) of a path or a container id."""
    root = cgroup2_root()
    candidates = [Path(spec)] if spec.startswith("/") else []
    candidates.append(root / spec.lstrip("/"))
    for path in candidates:
        if path.is_dir() and str(path.resolve()).startswith(str(root)):
            return os.stat(path).st_ino, "/" + str(path.resolve().relative_to(root)).strip(".")
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            if spec in d:
                path = Path(dirpath) / d
                return os.stat(path).st_ino, "/" + str(path.relative_to(root))
    raise NotFoundError(f"filters.cgroups: no cgroup v2 directory or container id matches {spec!r} under {root}")


def cgroup_paths(root: Path | None = None) -> dict[int, str]:
    """Every cgroup v2 id -> path relative to the root.  The id of a cgroup is
    its directory's inode number, which ``getdents`` already reports: the walk
    reads directories and never stats a file."""
    root = root or cgroup2_root()
    out = {os.stat(root).st_ino: "/"}
    stack = [(str(root), "")]
    while stack:
        path, rel = stack.pop()
        try:
            with os.scandir(path) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        child = f"{rel}/{entry.name}"
                        out[entry.inode()] = child
                        stack.append((entry.path, child))
        except OSError:  # removed while walking
            continue
    return out


_CONTAINER_ID = re.compile(
    r"^(?:docker-|cri-containerd-|crio-|libpod-|containerd-)?([0-9a-f]{64})(?:\.scope)?$")


def container_id(path: str) -> str:
    """The container id in a cgroup path, '' when the path is not a container's.

    Runtimes name a container's cgroup after its 64-hex id: systemd drivers as a
    scope (``docker-ID.scope``, ``cri-containerd-ID.scope``, ``crio-ID.scope``,
    ``libpod-ID.scope``), cgroupfs drivers as a plain directory (``/docker/ID``,
    ``/kubepods/burstable/podUID/ID``).  The innermost such component wins; a
    runtime's helper scopes (``crio-conmon-ID.scope``) are not containers."""
    for part in reversed(path.split("/")):
        m = _CONTAINER_ID.match(part)
        if m:
            return m.group(1)
    return ""


@dataclass(frozen=True)
class CgroupLabel:
    path: str       # relative to the cgroup v2 root, '' when unknown (removed before it was seen)
    container: str  # container id, '' when not a container


class CgroupNames:
    """cgroup id -> (path, container id), for labels.

    Cgroup ids are never reused while the system runs (64-bit kernfs ids), so
    a resolved id stays valid for the agent's lifetime and a label never
    changes under a series.  Ids are resolved in batches: :meth:`resolve`
    walks the hierarchy once for all ids it has not seen, and only when there
    are some; an id the walk did not find (its cgroup is already gone) is
    remembered as unknown and never causes another walk.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.known: dict[int, CgroupLabel] = {}
        self.walks = 0  # full walks done: a test and the agent's own metrics read it

    def resolve(self, ids: set[int] | list[int]) -> None:
        missing = {i for i in ids if i not in self.known}
        if not missing:
            return
        self.walks += 1
        paths = cgroup_paths(self.root or cgroup2_root())
        for cg, path in paths.items():
            if cg in missing or cg not in self.known:  # learn the whole walk: the next new id may be here
                self.known[cg] = CgroupLabel(path, container_id(path))
        for cg in missing:
            self.known.setdefault(cg, CgroupLabel("", ""))

    def label(self, cg: int) -> CgroupLabel:
        if cg not in self.known:
            self.resolve([cg])
        return self.known[cg]


def _quote(s: str) -> str:
    if '"' in s or "\\" in s or "\n" in s:
        raise InvalidInputError(f"filters.comms: {s!r} has a quote, backslash or newline; process names cannot")
    return '"' + s[:15] + '"'  # the kernel keeps 15 characters of a name


@dataclass
class Subject:
    """How a probe names the process an event is about (in bpftrace expressions)."""
    pid: str = "pid"
    comm: str = "comm"
    cgroup: bool = True  # whether the current task is that process, so ``cgroup`` applies


CURRENT = Subject()


def predicate(filters: Filters, subject: Subject = CURRENT) -> str:
    """A bpftrace expression that is true for watched processes, or '' to watch all."""
    parts = []
    if filters.pids:
        parts.append(" || ".join(f"{subject.pid} == {int(p)}" for p in filters.pids))
    if filters.comms:
        parts.append(" || ".join(f"{subject.comm} == {_quote(c)}" for c in filters.comms))
    if filters.cgroups and subject.cgroup:
        ids = [resolve_cgroup(c)[0] for c in filters.cgroups]
        parts.append(" || ".join(f"cgroup == {i}" for i in ids))
    return " && ".join(f"({p})" for p in parts)


def asm_filter(filters: Filters, comm_off: int, out: str) -> list:
    """The filters for hand-assembled programs: instructions that fall through for a
    watched process and jump to label ``out`` otherwise.  They expect the tgid in R7
    (when ``pids`` is set) and the comm at ``FP + comm_off`` (when ``comms`` is)."""
    from purebpf.asm import FP, R0, R1, R2, R7, JmpOp, call, ja, jmp, ld_imm64, ldx, mov
    groups: list[list] = []
    if filters.pids:
        groups.append([lambda ok, nxt, p=int(p): [jmp(JmpOp.JEQ, R7, p, ok)] for p in filters.pids])
    if filters.comms:
        tests = []
        for c in filters.comms:
            lo, hi = struct.unpack("<qq", c.encode()[:15].ljust(16, b"\0"))
            tests.append(lambda ok, nxt, lo=lo, hi=hi: [
                ldx(8, R1, FP, comm_off), ld_imm64(R2, lo), jmp(JmpOp.JNE, R1, R2, nxt),
                ldx(8, R1, FP, comm_off + 8), ld_imm64(R2, hi), jmp(JmpOp.JEQ, R1, R2, ok)])
        groups.append(tests)
    if filters.cgroups:
        ids = [resolve_cgroup(c)[0] for c in filters.cgroups]
        groups.append([lambda ok, nxt, cg=cg: [
            call("get_current_cgroup_id"), ld_imm64(R1, cg), jmp(JmpOp.JEQ, R0, R1, ok)] for cg in ids])
    insns: list = []
    for g, tests in enumerate(groups):  # every group must match: one of its tests jumps to its "ok"
        for t, test in enumerate(tests):
            body = test(f"g{g}_ok", f"g{g}_t{t + 1}")
            if t:
                body[0] = body[0].with_label(f"g{g}_t{t}")
            insns += body
        insns += [ja(out).with_label(f"g{g}_t{len(tests)}"), mov(R0, 0).with_label(f"g{g}_ok")]
    return insns


def guard(filters: Filters, subject: Subject = CURRENT, extra: str = "") -> str:
    """A probe predicate ``/.../`` combining the filters with ``extra``, or ''."""
    parts = [p for p in (predicate(filters, subject), extra) if p]
    return "/" + " && ".join(f"({p})" for p in parts) + "/" if parts else ""
