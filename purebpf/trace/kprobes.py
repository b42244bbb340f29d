"""kprobe/kretprobe attach points as bpftrace expands them: ``kprobe:vfs_*`` becomes one probe per
traceable kernel function that matches, ``kprobe:MODULE:func`` names a loaded module's function, and
``kprobe:0xADDRESS`` an address.

"Traceable" means listed by ftrace's available_filter_functions: a function missing there is
inlined, renamed or notrace, and attaching to it would fail (``--unsafe`` tries anyway, as bpftrace).
RCU functions are refused even when listed: a probe on them can deadlock the kernel.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from functools import lru_cache

from purebpf.trace.probes import ProbeError, ProbeTarget, has_wildcard

TRACEABLE = "/sys/kernel/tracing/available_filter_functions"
REFUSED_PREFIXES = ("rcu_", "__rcu_")
# bpftrace's default cap on the programs one run may load (BPFTRACE_MAX_BPF_PROGS raises it)
MAX_BPF_PROGS = 1024


@dataclass
class Expansion:
    """The concrete attach points of one kprobe attach point, and what to tell the user about it."""
    targets: list[ProbeTarget] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: str = ""  # the "No matches for ..." message when nothing is left to attach


@lru_cache(maxsize=4)
def traceable_functions(path: str = TRACEABLE) -> dict[str, frozenset[str]]:
    """Each traceable function's modules (``vmlinux`` for the kernel's own), from ``path`` (ftrace's list,
    or ``--traceable-functions FILE``); empty when the file cannot be read."""
    out: dict[str, set[str]] = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if not parts or parts[0].startswith("__ftrace_invalid_address__"):
                    continue
                module = parts[1].strip("[]") if len(parts) > 1 else "vmlinux"
                out.setdefault(parts[0], set()).add(module)
    except OSError:
        return {}
    return {name: frozenset(mods) for name, mods in out.items()}


def refused(func: str) -> bool:
    return func.startswith(REFUSED_PREFIXES)


def module_loaded(module: str) -> bool:
    return module == "vmlinux" or os.path.isdir(f"/sys/module/{module}")


def expand(target: ProbeTarget, *, unsafe: bool = False, path: str | None = None) -> Expansion:
    """The attach points ``target`` names (its ``target`` field is the module, "" when not given);
    raises ProbeError for a module that is not loaded."""
    if target.func[:1].isdigit():  # kprobe:0xffffffff81000000: an address, shown in decimal as bpftrace does
        try:
            address = int(target.func, 0)
        except ValueError:
            raise ProbeError(f"invalid kprobe address '{target.func}'") from None
        return Expansion([ProbeTarget(target.provider, "", str(address), target.offset)])
    module = target.target
    if module and not has_wildcard(module) and not module_loaded(module):
        raise ProbeError(f"specified module {module} in probe {target.provider}:{module}:{target.func} "
                         "is not loaded.")
    funcs = traceable_functions(path or TRACEABLE)
    shown = f"{module}:{target.func}" if module else target.func
    missing = f"No matches for {target.provider} {shown}."
    if not has_wildcard(target.func) and not has_wildcard(module):
        ok = target.func in funcs and not refused(target.func) and (
            not module or module in funcs[target.func])
        if ok:
            return Expansion([target])
        note = (f"{target.func} is not traceable (either non-existing, inlined, or marked as \"notrace\"); "
                "attaching to it will likely fail")
        return Expansion([target] if unsafe else [], [note], "" if unsafe else missing)
    matches = []
    for name, modules in funcs.items():
        if refused(name) or not fnmatch.fnmatchcase(name, target.func):
            continue
        for mod in sorted(modules):
            if not module or fnmatch.fnmatchcase(mod, module):
                keep = module if module and not has_wildcard(module) else (mod if module else "")
                matches.append(ProbeTarget(target.provider, keep, name, target.offset))
                break  # one probe per function, as bpftrace
    matches.sort(key=lambda t: t.func)
    return Expansion(matches)  # none: the probe has no valid attach points (the compiler says so)


def max_programs() -> int:
    """How many programs a run may generate: BPFTRACE_MAX_BPF_PROGS, else bpftrace's default."""
    text = os.environ.get("BPFTRACE_MAX_BPF_PROGS", "")
    return int(text) if text.isdigit() else MAX_BPF_PROGS
