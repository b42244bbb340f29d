"""Cgroup ids back to paths, for ``cgroup_path()``: a cgroup's id is the inode
number of its directory, so each mounted hierarchy is searched for it."""

from __future__ import annotations

import fnmatch
import functools
import os


def _hierarchies() -> list[tuple[str, str]]:
    """(name, mount point) of each mounted cgroup hierarchy: ``unified`` for cgroup2, else its
    controllers (``cpu,cpuacct``) or ``name=`` option, as bpftrace names them."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    try:
        with open("/proc/self/mounts") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[2] not in ("cgroup", "cgroup2"):
            continue
        if parts[2] == "cgroup2":
            name = "unified"
        else:
            opts = parts[3].split(",")
            named = [o[5:] for o in opts if o.startswith("name=")]
            name = named[0] if named else ",".join(o for o in opts if o not in ("rw", "ro", "nosuid", "nodev",
                                                                                "noexec", "relatime"))
        if name not in seen:
            seen.add(name)
            out.append((name, parts[1]))
    return out


def _find(root: str, ino: int) -> str | None:
    try:
        if os.stat(root).st_ino == ino:
            return "/"
    except OSError:
        return None
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            try:
                if os.stat(os.path.join(dirpath, d), follow_symlinks=False).st_ino == ino:
                    return "/" + os.path.relpath(os.path.join(dirpath, d), root)
            except OSError:
                continue
    return None


@functools.lru_cache(maxsize=256)
def cgroup_paths(cgroup_id: int, pattern: str = "") -> list[tuple[str, str]]:
    """(hierarchy, path) for each hierarchy holding a cgroup with this id; ``pattern`` (a glob on the
    hierarchy name) keeps only some hierarchies."""
    out = []
    for name, root in _hierarchies():
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        path = _find(root, cgroup_id)
        if path is not None:
            out.append((name, path))
    return out
