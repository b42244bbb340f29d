"""Kernel ABI: ``bpf(2)``, ``perf_event_open(2)``, their structures and constants.

Nothing outside this package calls ctypes' syscall or builds a ``bpf_attr``
by hand; the layers above use these names.
"""

from purebpf.sys.commands import Cmd
from purebpf.sys.constants import AttachType, LinkType, MapFlags, MapType, ProgFlags, ProgType, UpdateFlags
from purebpf.sys.fd import FD, ClosedError
from purebpf.sys.syscall import bpf, bpf_raw, perf_event_open

__all__ = [
    "AttachType", "ClosedError", "Cmd", "FD", "LinkType", "MapFlags", "MapType", "ProgFlags", "ProgType",
    "UpdateFlags", "bpf", "bpf_raw", "perf_event_open",
]
