"""Reading what BPF programs send to user space: ring buffers and perf buffers.

Both readers map the kernel's rings into this process and wait on them with
epoll; both offer a callback style (``poll``), an iterator (``records``) and
batch reads (``consume_batch``, ``consume_decoded`` with a precompiled
``struct.Struct``).  See :mod:`purebpf.events.ringbuf` and
:mod:`purebpf.events.perfbuf`; :class:`DropCounter` gives ring buffers the lost
count the kernel does not keep.
"""

from purebpf.events.drops import DropCounter
from purebpf.events.ringbuf import Ring, RingBuffer

__all__ = ["CpuRing", "DropCounter", "PerfBuffer", "Ring", "RingBuffer"]


def __getattr__(name: str):
    # the perf buffer (and its memory-ordering helpers) is imported on first use:
    # ring buffer readers never need it
    if name in ("CpuRing", "PerfBuffer"):
        from purebpf.events import perfbuf

        value = getattr(perfbuf, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'purebpf.events' has no attribute {name!r}")
