"""``purebpf trace --info``: what this kernel offers and what purebpf trace
uses of it, as ``name: yes|no`` lines grouped like bpftrace's ``--info``.

A "yes" means a program written for that feature works here with purebpf
trace: the kernel has it (found by :func:`purebpf.features.probe_all`) *and*
the compiler generates code for it.  Features purebpf trace does not
implement say "no" even when the kernel has them.
"""

from __future__ import annotations

import os
import platform

from purebpf import __version__

# the bpftrace release whose language and output purebpf trace follows (its runtime tests are the measure)
LANGUAGE_VERSION = "0.24.0"


def version_line() -> str:
    """``--version``: the bpftrace version first, as scripts that check ``bpftrace --version`` parse it."""
    return f"bpftrace v{LANGUAGE_VERSION} (purebpf trace v{__version__}: the bpftrace language compiled in Python)"

# bpftrace feature name -> (kernel capability that must be present, implemented by purebpf trace)
# capability: ("attach", kind) | ("helper", program type, helper) | ("map", map type) | None (always there)
IMPLEMENTED_PROBES = {
    "tracepoint": ("attach", "tracepoint"), "rawtracepoint": ("attach", "raw_tracepoint"),
    "uprobe": ("attach", "uprobe"), "uretprobe": ("attach", "uprobe"), "usdt": ("attach", "uprobe"),
    "kprobe": ("attach", "kprobe"), "kretprobe": ("attach", "kprobe"),
    "software": ("attach", "perf_event_link"), "hardware": ("attach", "perf_event_link"),
    "interval": ("attach", "perf_event_link"), "profile": ("attach", "perf_event_link"),
    "fentry": ("attach", "fentry"), "fexit": ("attach", "fentry"),
    "watchpoint": ("attach", "perf_event_link"),
}
NOT_IMPLEMENTED_PROBES = ("kprobe_multi", "kprobe_session")
HELPERS_USED = ("probe_read", "probe_read_str", "probe_read_user", "probe_read_user_str", "probe_read_kernel",
                "probe_read_kernel_str", "get_current_pid_tgid", "get_current_uid_gid", "get_current_comm",
                "get_current_task", "get_current_cgroup_id", "ktime_get_ns", "get_smp_processor_id",
                "get_prandom_u32", "ringbuf_output", "map_lookup_elem", "map_update_elem", "map_delete_elem",
                "send_signal", "jiffies64", "get_numa_node_id", "get_stackid", "for_each_map_elem", "loop",
                "ktime_get_boot_ns", "get_func_ip")
# bpftrace's names for helpers that purebpf trace calls under their kernel names
HELPER_ALIASES = {"lookup_percpu_elem": "map_lookup_percpu_elem", "get_boot_ns": "ktime_get_boot_ns",
                  "get_tai_ns": "ktime_get_tai_ns"}
HELPERS_NOT_USED = ("override_return",)


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def info_lines() -> list[str]:
    from purebpf.features import probe_all
    from purebpf.features.tracing import tracing_loads

    report = probe_all()
    helpers = report.helpers.get("kprobe", {})
    lines = ["System", f"  OS: Linux {platform.release()}", f"  Arch: {platform.machine()}", "",
             "Build", f"  version: v{LANGUAGE_VERSION} (purebpf trace v{__version__})",
             "  LLVM: not used (code generated in Python)",
             "", "Kernel helpers"]
    for name in HELPERS_USED:
        feature = helpers.get(f"bpf_{name}") or helpers.get(name)
        lines.append(f"  {name}: {_yes(bool(feature))}")
    for name, kernel_name in HELPER_ALIASES.items():
        feature = helpers.get(f"bpf_{kernel_name}") or helpers.get(kernel_name)
        lines.append(f"  {name}: {_yes(bool(feature))}")
    # skboutput() runs in TRACING programs (fentry, and rawtracepoint loaded as tp_btf)
    lines.append(f"  skb_output: {_yes(tracing_loads('tp_btf', 'sched_switch', 'skb_output'))}")
    # path() calls bpf_d_path, which iterators may always call (fentry only on the kernel's allowlist)
    d_path = tracing_loads("iter", "task_file", "d_path")
    lines.append(f"  d_path: {_yes(d_path)}")
    for name in HELPERS_NOT_USED:
        lines.append(f"  {name}: no")
    lines += ["", "Kernel features", "  Instruction limit: 1000000", "  Loop support: yes",
              f"  btf: {_yes(os.path.exists('/sys/kernel/btf/vmlinux'))}",
              "  module btf: no", "  map batch: no", "  dwarf: yes", f"  dpath: {_yes(d_path)}",
              "  library path resolution (libpath_resolv): yes", "",
              "Map types"]
    for name in ("hash", "percpu hash", "array", "percpu array", "stack_trace", "perf_event_array", "ringbuf"):
        feature = report.map_types.get(name.replace(" ", "_"))
        lines.append(f"  {name}: {_yes(bool(feature))}")
    lines += ["", "Probe types"]
    for name, (_, kind) in IMPLEMENTED_PROBES.items():
        lines.append(f"  {name}: {_yes(bool(report.attach_kinds.get(kind)))}")
    lines.append(f"  iter: {_yes(tracing_loads('iter', 'task'))}")
    lines.append(f"  tp_btf: {_yes(tracing_loads('tp_btf', 'sched_switch'))}")
    # wildcard uprobes share one program and link (purebpf.trace.multi); a report cached before this kind was
    # probed lacks it, so ask for it by name
    from purebpf.features import attach_kind
    lines.append(f"  uprobe_multi: {_yes(attach_kind('uprobe_multi').available)}")
    for name in NOT_IMPLEMENTED_PROBES:
        lines.append(f"  {name}: no")
    return lines
