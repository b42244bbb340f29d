"""Reading what BPF programs send to user space: ring buffers and perf buffers.

Both readers map the kernel's rings into this process and wait on them with
epoll; both offer a callback style (``poll``), an iterator (``records``) and
batch reads (``consume_batch``, ``consume_decoded`` with a precompiled
``struct.Struct``).  See :mod:`purebpf.events.ringbuf` and
:mod:`purebpf.events.perfbuf`; :class:`DropCounter` gives ring buffers the lost
count the kernel does not keep.
"""

from purebpf.events.drops import DropCounter
from purebpf.events.perfbuf import CpuRing, PerfBuffer
from purebpf.events.ringbuf import Ring, RingBuffer

__all__ = ["CpuRing", "DropCounter", "PerfBuffer", "Ring", "RingBuffer"]
