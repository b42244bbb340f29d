"""The pseudo file systems BPF needs: bpffs (pins), tracefs (tracepoint ids) and
securityfs (which LSMs are active, the lockdown mode).

On a fresh machine neither may be mounted; as root we mount them on first use,
otherwise the error says which mount is missing and how to make it.
"""

from __future__ import annotations

import ctypes
import os

from purebpf._memo import cache
from purebpf.errors import NotFoundError, NotSupportedError

TYPE_CHECKING = False  # pathlib costs ~2 ms to import: the start-up path uses strings
if TYPE_CHECKING:
    from pathlib import Path

BPFFS = "/sys/fs/bpf"
TRACEFS_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_BPF_FS_MAGIC = 0xCAFE4A11
_TRACEFS_MAGIC = 0x74726163
DEBUGFS = "/sys/kernel/debug"
_DEBUGFS_MAGIC = 0x64626720
SECURITYFS = "/sys/kernel/security"
_SECURITYFS_MAGIC = 0x73636673

_libc = ctypes.CDLL(None, use_errno=True)


def _fs_magic(path: str) -> int:
    class StatFs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("_rest", ctypes.c_byte * 112)]

    buf = StatFs()
    if _libc.statfs(path.encode(), ctypes.byref(buf)) != 0:
        return 0
    return buf.f_type & 0xFFFFFFFF


def _mount(fstype: str, target: str) -> bool:
    os.makedirs(target, exist_ok=True)
    return _libc.mount(fstype.encode(), target.encode(), fstype.encode(), 0, None) == 0


@cache
def bpffs() -> Path:
    """The mounted bpffs root, mounting it at /sys/fs/bpf when needed."""
    from pathlib import Path

    if _fs_magic(BPFFS) == _BPF_FS_MAGIC or _mount("bpf", BPFFS):
        return Path(BPFFS)
    raise NotSupportedError(
        f"bpffs is not mounted at {BPFFS} and mounting it failed "
        f"({os.strerror(ctypes.get_errno())}); run `mount -t bpf bpf {BPFFS}` as root")


@cache
def tracefs_root() -> str:
    """The mounted tracefs root as a string, mounting it at /sys/kernel/tracing when needed."""
    for cand in TRACEFS_CANDIDATES:
        if _fs_magic(cand) == _TRACEFS_MAGIC or os.path.isdir(os.path.join(cand, "events")):
            return cand
    if _mount("tracefs", TRACEFS_CANDIDATES[0]):
        return TRACEFS_CANDIDATES[0]
    raise NotSupportedError(
        "tracefs is not mounted and mounting it failed; run "
        "`mount -t tracefs nodev /sys/kernel/tracing` as root")


@cache
def debugfs_root() -> str:
    """The mounted debugfs root, mounting it at /sys/kernel/debug when needed: tools read the kernel's
    trace buffer (what bpf_trace_printk writes) at /sys/kernel/debug/tracing/trace."""
    if _fs_magic(DEBUGFS) == _DEBUGFS_MAGIC or _mount("debugfs", DEBUGFS):
        return DEBUGFS
    raise NotSupportedError(f"debugfs is not mounted at {DEBUGFS} and mounting it failed "
                            f"({os.strerror(ctypes.get_errno())}); run `mount -t debugfs none {DEBUGFS}` as root")


@cache
def securityfs_root() -> str | None:
    """The mounted securityfs root, mounting it when needed; None when it cannot be (not root, no
    CONFIG_SECURITYFS): what it tells (active LSMs, lockdown) then stays unknown, never guessed."""
    if _fs_magic(SECURITYFS) == _SECURITYFS_MAGIC or _mount("securityfs", SECURITYFS):
        return SECURITYFS
    return None


def security_file(name: str) -> str | None:
    """The stripped text of securityfs file ``name`` (``lsm``, ``lockdown``), or None when unknown."""
    root = securityfs_root()
    if root is None:
        return None
    try:
        with open(os.path.join(root, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def lockdown_mode() -> str | None:
    """The kernel lockdown mode: ``none``, ``integrity`` or ``confidentiality`` (the bracketed word of
    securityfs ``lockdown``); None when the kernel has no lockdown LSM or securityfs is unavailable.
    Lockdown silently withdraws helpers (bpf_probe_write_user from integrity on, bpf_probe_read_kernel
    from confidentiality on), so errors use it to explain a refusal."""
    text = security_file("lockdown")
    if not text or "[" not in text:
        return None
    return text.split("[", 1)[1].split("]", 1)[0]


def tracefs() -> Path:
    """The mounted tracefs root, mounting it at /sys/kernel/tracing when needed."""
    from pathlib import Path

    return Path(tracefs_root())


def tracepoint_id(category: str, name: str) -> int:
    """The perf id of ``category:name`` from ``events/<category>/<name>/id``."""
    if "/" in category or "/" in name or not category or not name:
        raise NotFoundError(f"invalid tracepoint name '{category}:{name}'")
    try:
        with open(os.path.join(tracefs_root(), "events", category, name, "id"), "rb") as f:
            return int(f.read())
    except FileNotFoundError:
        raise NotFoundError(
            f"tracepoint {category}:{name} does not exist on this kernel "
            f"(see `purebpf trace -l 'tracepoint:{category}:*'` or {tracefs_root()}/events)") from None
