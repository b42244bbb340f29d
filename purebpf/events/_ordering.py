"""Memory ordering between this process and a kernel producer on another CPU.

Both ring protocols need an *acquire* after reading the producer position (or a
record header) and before reading the record, and a *release* before publishing
the consumer position.  On x86 (TSO) every plain load is an acquire and every
plain store a release, so the readers' ``memoryview`` loads and stores are
enough and :func:`fence` is never called.  Weakly ordered CPUs (arm64, riscv64)
need a real barrier; Python has none, so we call libatomic's C11
``atomic_thread_fence`` (a tiny shared library that ships with GCC's runtime)
through ctypes.  Without libatomic there, the readers refuse to start rather
than read torn records.
"""

from __future__ import annotations

import os

from purebpf.errors import NotSupportedError

#: True where plain loads/stores already have acquire/release semantics.
STRONGLY_ORDERED = os.uname().machine in ("x86_64", "i386", "i686", "AMD64")

_SEQ_CST = 5  # memory_order_seq_cst
_fence_fn = None


def fence() -> None:
    """A full memory barrier (only needed when not :data:`STRONGLY_ORDERED`)."""
    _fence_fn(_SEQ_CST)  # type: ignore[misc]


def require_ordering() -> None:
    """Make :func:`fence` usable on this CPU, or say why it cannot be."""
    global _fence_fn
    if STRONGLY_ORDERED or _fence_fn is not None:
        return
    import ctypes.util  # only on weakly ordered CPUs: it pulls in subprocess

    name = ctypes.util.find_library("atomic") or "libatomic.so.1"
    try:
        _fence_fn = ctypes.CDLL(name).atomic_thread_fence
    except (OSError, AttributeError):
        raise NotSupportedError(
            f"reading BPF rings on {os.uname().machine} needs memory barriers from libatomic; "
            "install it (Debian: apt-get install libatomic1)") from None
    _fence_fn.argtypes = [ctypes.c_int]
    _fence_fn.restype = None
