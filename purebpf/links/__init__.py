"""Attachments of programs to hooks: one module, one class per attach kind."""

from purebpf.links.btf_attach import BtfLink
from purebpf.links.cgroup import Cgroup
from purebpf.links.kprobe import Kprobe
from purebpf.links.link import Link
from purebpf.links.lsm import Lsm
from purebpf.links.perf_attach import PerfEventLink
from purebpf.links.perf_event import PerfEvent
from purebpf.links.raw_tracepoint import RawTracepoint
from purebpf.links.sockmap import SockMapAttach
from purebpf.links.sockops import SockOps
from purebpf.links.tc import TC
from purebpf.links.tp_btf import TpBtf
from purebpf.links.tracepoint import Tracepoint
from purebpf.links.tracing import Tracing
from purebpf.links.tracing_spec import btf_target_id, tracing_spec
from purebpf.links.uprobe import Uprobe
from purebpf.links.xdp import XDP

__all__ = ["Link"]
__all__ += ["BtfLink", "Kprobe", "Lsm", "PerfEvent", "PerfEventLink", "RawTracepoint", "TpBtf", "Tracepoint", "Tracing",
            "Uprobe", "btf_target_id", "tracing_spec"]
__all__ += ["TC", "XDP", "Cgroup", "SockMapAttach", "SockOps"]
