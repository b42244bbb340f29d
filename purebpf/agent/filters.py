"""Process filters turned into a bpftrace predicate, evaluated in the kernel
so unwatched processes cost one comparison and no map update.

A cgroup is matched by its cgroup v2 id (the inode number of its directory,
what ``bpf_get_current_cgroup_id`` returns): the process must be directly in
that cgroup, as a container's processes are in the container's cgroup.
"""

from __future__ import annotations

import os
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


def cgroup_paths() -> dict[int, str]:
    """Every cgroup v2 id -> path, for labels."""
    root = cgroup2_root()
    out = {os.stat(root).st_ino: "/"}
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            path = Path(dirpath) / d
            try:
                out[os.stat(path).st_ino] = "/" + str(path.relative_to(root))
            except OSError:
                continue
    return out


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


def guard(filters: Filters, subject: Subject = CURRENT, extra: str = "") -> str:
    """A probe predicate ``/.../`` combining the filters with ``extra``, or ''."""
    parts = [p for p in (predicate(filters, subject), extra) if p]
    return "/" + " && ".join(f"({p})" for p in parts) + "/" if parts else ""
