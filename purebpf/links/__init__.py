"""Attachments of programs to hooks: one module, one class per attach kind."""

from purebpf.links.link import Link, LinkGroup, close_all
from purebpf.links.tracing_spec import btf_target_id, tracing_spec  # light; and the function must shadow its module

# Each attach kind is imported on first use (``from purebpf.links import
# Tracepoint`` loads only the tracepoint module): the uprobe and kprobe
# modules read ELF and kernel symbols, which a tracepoint tool never needs.
_LAZY = {
    "BtfLink": "btf_attach", "Cgroup": "cgroup", "Iter": "iterator", "iter_targets": "iterator",
    "Kprobe": "kprobe", "Lsm": "lsm",
    "PerfEventLink": "perf_attach", "PerfEvent": "perf_event", "RawTracepoint": "raw_tracepoint",
    "SockMapAttach": "sockmap", "SockOps": "sockops", "TC": "tc", "TpBtf": "tp_btf", "Tracepoint": "tracepoint",
    "Tracing": "tracing", "Uprobe": "uprobe", "UprobeMulti": "uprobe_multi", "Usdt": "usdt", "usdt_probes": "usdt",
    "XDP": "xdp", "loaded_functions": "prog_target", "prog_tracing_spec": "prog_target",
}

__all__ = ["Link", "LinkGroup", "close_all"]
__all__ += ["BtfLink", "Kprobe", "Lsm", "PerfEvent", "PerfEventLink", "RawTracepoint", "TpBtf", "Tracepoint", "Tracing",
            "Uprobe", "UprobeMulti", "btf_target_id", "tracing_spec"]
__all__ += ["Iter", "iter_targets", "loaded_functions", "prog_tracing_spec"]
__all__ += ["Usdt", "usdt_probes"]
__all__ += ["TC", "XDP", "Cgroup", "SockMapAttach", "SockOps"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'purebpf.links' has no attribute {name!r}")
    from purebpf._lazy import import_module

    loaded = import_module(f"purebpf.links.{module}")
    globals().update({n: getattr(loaded, n) for n, m in _LAZY.items() if m == module})
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
