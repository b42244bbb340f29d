"""Wildcard uprobes as one program and one link (uprobe_multi, Linux 6.6+), as current bpftrace attaches them.

``uprobe:./app:func*`` expands to one attach point per function; compiled one by one, each gets its
own program and perf event, so a wide wildcard (libc's ``str*``) costs a hundred loads and attaches.
When the kernel has uprobe_multi links, the functions of one wildcard attach point in one binary
share a single program instead, attached with one :class:`~purebpf.links.UprobeMulti` link.

What differs between the functions must then be found at run time: ``probe`` and ``func`` are read
from PROBE_NAMES_MAP at the index the link's cookie gives (the runtime fills it from
:attr:`MultiPlan.names`).  A body whose code depends on the function in other ways (``args`` typed
from each function's DWARF, ``uaddr()`` relative to each function's address) keeps one program per
function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from purebpf.trace import ast
from purebpf.trace.probes import ProbeTarget
from purebpf.trace.semantic import ProbeScope

MULTI_PROVIDERS = ("uprobe", "uretprobe")
# what makes a probe's code differ from one function to the next, besides probe and func
_PER_FUNCTION_BUILTINS = ("args",)
_PER_FUNCTION_CALLS = ("uaddr",)


@dataclass
class MultiGroup:
    """Several attach points compiled once: ``scopes[0]`` is compiled, ``cookies[i]`` names ``scopes[i]``."""
    scopes: list[ProbeScope]
    cookies: list[int]

    @property
    def targets(self):
        return [s.target for s in self.scopes]


@dataclass
class MultiPlan:
    groups: dict[int, MultiGroup] = field(default_factory=dict)  # id(first scope) -> its group
    skipped: set[int] = field(default_factory=set)  # ids of the scopes compiled as part of another's group
    names: list[tuple[str, str]] = field(default_factory=list)  # by cookie: (probe, func)

    @property
    def slot(self) -> int:
        """Bytes per name in PROBE_NAMES_MAP: the longest name and its NUL, in whole words."""
        longest = max((len(text.encode()) for pair in self.names for text in pair), default=0)
        return (longest + 1 + 7) & ~7

    def table(self) -> list[bytes]:
        """PROBE_NAMES_MAP's elements, by cookie."""
        slot = self.slot
        return [b"".join(text.encode().ljust(slot, b"\0") for text in pair) for pair in self.names]


def per_function(probe: ast.Probe) -> bool:
    """True when the probe's code depends on the function it runs for in ways a cookie does not carry."""
    for node in ast.walk([probe.pred, probe.body]):
        if isinstance(node, ast.Builtin) and node.name in _PER_FUNCTION_BUILTINS:
            return True
        if isinstance(node, ast.Call) and node.func in _PER_FUNCTION_CALLS:
            return True
    return False


def _groupable(t: ProbeTarget) -> bool:
    """A function of a binary by name (not an address, a source line or an offset into it)."""
    return (t.provider in MULTI_PROVIDERS and not t.offset and not t.func[:1].isdigit()
            and "@" not in t.target)


Targets = list[tuple[ast.Probe, ProbeTarget, object]]  # (probe, target, its attach point's location)


def programs_needed(targets: Targets) -> Targets:
    """One (probe, target, attach point location) per program ``targets`` need when wildcard uprobes share
    theirs, as :func:`plan` will group them (bpftrace's program limit counts programs, not functions)."""
    seen: set[tuple] = set()
    shared: dict[int, bool] = {}
    out = []
    for probe, t, loc in targets:
        if _groupable(t):
            if id(probe) not in shared:
                shared[id(probe)] = not per_function(probe)
            key = (id(probe), id(loc), t.provider, t.target)
            if shared[id(probe)] and key in seen:
                continue
            seen.add(key)
        out.append((probe, t, loc))
    return out


def plan(scopes: list[tuple[ast.Probe, ProbeScope]], attach_points: dict[int, object]) -> MultiPlan:
    """Group the scopes that one wildcard attach point (``attach_points``: id(scope) -> its attach point's
    location) expanded to, by binary; groups of one stay as they are."""
    buckets: dict[tuple, list[ProbeScope]] = {}
    shared: dict[int, bool] = {}
    for probe, scope in scopes:
        if not _groupable(scope.target):
            continue
        if id(probe) not in shared:
            shared[id(probe)] = not per_function(probe)
        if shared[id(probe)]:
            key = (id(probe), id(attach_points.get(id(scope))), scope.target.provider, scope.target.target)
            buckets.setdefault(key, []).append(scope)
    out = MultiPlan()
    for members in buckets.values():
        if len(members) < 2:
            continue
        cookies = list(range(len(out.names), len(out.names) + len(members)))
        out.names.extend((s.target.name, s.target.func) for s in members)
        out.groups[id(members[0])] = MultiGroup(members, cookies)
        out.skipped.update(id(s) for s in members[1:])
    return out


def kernel_has_uprobe_multi() -> bool:
    """Asked only when a program has a wildcard to group (the answer is cached per boot)."""
    from purebpf import features

    return features.has_attach_kind("uprobe_multi")
