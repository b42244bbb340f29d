"""The pseudo file systems BPF needs: bpffs (pins) and tracefs (tracepoint ids).

On a fresh machine neither may be mounted; as root we mount them on first use,
otherwise the error says which mount is missing and how to make it.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path

from purebpf.errors import NotFoundError, NotSupportedError

BPFFS = Path("/sys/fs/bpf")
TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
_BPF_FS_MAGIC = 0xCAFE4A11
_TRACEFS_MAGIC = 0x74726163

_libc = ctypes.CDLL(None, use_errno=True)


def _fs_magic(path: Path) -> int:
    class StatFs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("_rest", ctypes.c_byte * 112)]

    buf = StatFs()
    if _libc.statfs(str(path).encode(), ctypes.byref(buf)) != 0:
        return 0
    return buf.f_type & 0xFFFFFFFF


def _mount(fstype: str, target: Path) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return _libc.mount(fstype.encode(), str(target).encode(), fstype.encode(), 0, None) == 0


@cache
def bpffs() -> Path:
    """The mounted bpffs root, mounting it at /sys/fs/bpf when needed."""
    if _fs_magic(BPFFS) == _BPF_FS_MAGIC or _mount("bpf", BPFFS):
        return BPFFS
    raise NotSupportedError(
        f"bpffs is not mounted at {BPFFS} and mounting it failed "
        f"({os.strerror(ctypes.get_errno())}); run `mount -t bpf bpf {BPFFS}` as root")


@cache
def tracefs() -> Path:
    """The mounted tracefs root, mounting it at /sys/kernel/tracing when needed."""
    for cand in TRACEFS_CANDIDATES:
        if _fs_magic(cand) == _TRACEFS_MAGIC or (cand / "events").is_dir():
            return cand
    if _mount("tracefs", TRACEFS_CANDIDATES[0]):
        return TRACEFS_CANDIDATES[0]
    raise NotSupportedError(
        "tracefs is not mounted and mounting it failed; run "
        "`mount -t tracefs nodev /sys/kernel/tracing` as root")


def tracepoint_id(category: str, name: str) -> int:
    """The perf id of ``category:name`` from ``events/<category>/<name>/id``."""
    if "/" in category or "/" in name or not category or not name:
        raise NotFoundError(f"invalid tracepoint name '{category}:{name}'")
    path = tracefs() / "events" / category / name / "id"
    try:
        return int(path.read_text())
    except FileNotFoundError:
        raise NotFoundError(
            f"tracepoint {category}:{name} does not exist on this kernel "
            f"(see `purebpf trace -l 'tracepoint:{category}:*'` or {tracefs()}/events)") from None
