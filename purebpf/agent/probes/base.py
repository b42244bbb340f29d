"""What every probe family shares: its life cycle (start, poll, collect,
stop), its documentation (help and metric names), and, for probes written in
the bpftrace language, compiling, loading and reading their maps.

A probe keeps its kernel state in cumulative maps and turns them into
families only when the agent collects, so the event path never touches
user space.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from purebpf.agent.config import Filters
from purebpf.agent.filters import CgroupNames
from purebpf.agent.metrics import Family, Histogram, log2_buckets, power_bounds
from purebpf.errors import BPFError

NS = 1e9  # divisor: nanoseconds to seconds
LATENCY_BOUNDS = power_bounds(10, 34)  # 1 us .. 17 s in 4x steps, in ns
DEFAULT_MAP_ENTRIES = 4096
OBJECT_MAP_ENTRIES = 32768  # maps keyed by a task, request or socket in flight, not by labels
_MAP_NAME = re.compile(r"@\w+")


@dataclass
class MapUsage:
    name: str
    entries: int
    capacity: int


@dataclass
class ProbeContext:
    """What the agent lends its probes: a logger, the cgroup names for labels
    (None: no cgroup labels) and the size of maps keyed by labels."""
    log: Callable[[str], None] = print
    events: list[str] = field(default_factory=list)
    cgroups: CgroupNames | None = None
    map_entries: int = DEFAULT_MAP_ENTRIES


class Probe:
    """One probe family.  Subclasses set the class attributes and implement
    :meth:`start`, :meth:`collect` and :meth:`stop`."""
    name: ClassVar[str]
    help: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}
    default_enabled: ClassVar[bool] = True
    metrics: ClassVar[dict[str, str]] = {}  # exposed name -> help, for documentation
    uses_filters: ClassVar[bool] = True

    def __init__(self, params: dict[str, Any], filters: Filters, ctx: ProbeContext) -> None:
        self.p = params
        self.filters = filters
        self.ctx = ctx

    def check(self) -> None:
        """Raise InvalidInputError for parameters or filters this probe cannot use; touches no kernel object."""

    def start(self) -> None:
        raise NotImplementedError

    def poll(self) -> None:
        """Drain events (only probes that send any)."""

    def collect(self) -> list[Family]:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def lost(self) -> int:
        """Events the kernel dropped for this probe (programs skipped by recursion)."""
        return 0

    def map_usage(self) -> list[MapUsage]:
        return []

    def family(self, name: str, kind: str, labels: tuple[str, ...] = ()) -> Family:
        return Family(name, kind, self.metrics[name], labels)

    # -- the process an event is about: comm, and its cgroup when labels want it ---

    @property
    def who(self) -> tuple[str, ...]:
        """Label names of the process subject."""
        return ("comm", "cgroup", "container") if self.ctx.cgroups is not None else ("comm",)

    @property
    def who_key(self) -> str:
        """The bpftrace map-key expression of the current process (``who`` labels)."""
        return "comm, cgroup" if self.ctx.cgroups is not None else "comm"

    def who_labels(self, key: tuple) -> tuple[tuple, tuple]:
        """(``who`` label values, rest of the key) of a map key that starts with ``who_key``."""
        cgroups = self.ctx.cgroups
        if cgroups is None:
            return key[:1], key[1:]
        cg = cgroups.label(key[1])
        return (key[0], cg.path, cg.container), key[2:]

    def resolve_cgroups(self, keys: list[tuple]) -> None:
        """Resolve every key's cgroup id in one pass before labelling (at most one walk per collection)."""
        if self.ctx.cgroups is not None:
            self.ctx.cgroups.resolve({k[1] for k in keys})


class BpftraceProbe(Probe):
    """A probe whose kernel side is a bpftrace program compiled in-process."""

    def __init__(self, params: dict[str, Any], filters: Filters, ctx: ProbeContext) -> None:
        super().__init__(params, filters, ctx)
        self.tracer: Any = None
        self.lock = threading.Lock()
        self.sizes: dict[str, int] = {}  # entries per map at the last read: map_usage without another pass

    def source(self) -> str:
        raise NotImplementedError

    def families(self) -> list[Family]:
        raise NotImplementedError

    def on_printf(self, fmt: str, args: list) -> None:
        pass

    object_maps: ClassVar[frozenset[str]] = frozenset()  # maps keyed by tid, request, socket...: not by labels

    def sized_source(self) -> str:
        """:meth:`source` with every map's size declared: maps keyed by labels get
        ``ctx.map_entries`` (hist maps four times that: one key per bucket in use), the
        rest :data:`OBJECT_MAP_ENTRIES` (tasks or requests in flight)."""
        text = self.source()
        hists = set(re.findall(r"(@\w+)\[[^\]]*\]\s*=\s*hist\(", text))
        decls = []
        for name in sorted(set(_MAP_NAME.findall(text))):
            if name in self.object_maps:
                size = OBJECT_MAP_ENTRIES
            else:
                size = self.ctx.map_entries * (4 if name in hists else 1)
            decls.append(f"let {name} = hash({size});")
        return "\n".join(decls) + "\n" + text

    def check(self) -> None:
        from purebpf.trace.compiler import compile_program
        compile_program(self.sized_source(), name=f"agent:{self.name}")

    def start(self) -> None:
        from purebpf.trace.compiler import compile_program
        from purebpf.trace.runtime import Tracer
        program = compile_program(self.sized_source(), name=f"agent:{self.name}")
        tracer = Tracer(program, out=io.StringIO(), on_printf=self.on_printf)
        try:
            tracer.load()
            tracer.attach()
        except BaseException:
            tracer.close()
            raise
        self.tracer = tracer

    def stop(self) -> None:
        with self.lock:
            if self.tracer is not None:
                self.tracer.close()
                self.tracer = None
            self.sizes = {}

    def poll(self) -> None:
        with self.lock:
            if self.tracer is not None and self.tracer.ring is not None:
                self.tracer.poll(0)

    def collect(self) -> list[Family]:
        with self.lock:
            if self.tracer is None:
                return []
            return self.families()

    def read(self, name: str) -> list[tuple[tuple, Any]]:
        """A map's entries, read in batches: [(key tuple, int | Hist | Stats)]."""
        from purebpf.trace.values import map_entries
        m = self.tracer.maps.get(name)
        if m is None:
            return []
        items = list(m.items_raw())
        self.sizes[name] = len(items)
        return map_entries(self.tracer.program.maps[name], items)


    def read_dict(self, name: str) -> dict[tuple, Any]:
        return dict(self.read(name))

    def lost(self) -> int:
        with self.lock:
            if self.tracer is None:
                return 0
            total = 0
            for prog in self.tracer.progs.values():
                try:
                    total += prog.info().recursion_misses
                except (BPFError, AttributeError):
                    continue
            return total

    def map_usage(self) -> list[MapUsage]:
        with self.lock:
            if self.tracer is None:
                return []
            out = []
            for name, m in self.tracer.maps.items():
                if name.startswith("@"):
                    size = self.sizes.get(name)
                    if size is None:
                        size = sum(1 for _ in m.keys_raw())
                    out.append(MapUsage(name, size, m.max_entries))
            return out

    # -- helpers for subclasses ---------------------------------------------------

    def _labelled(self, entries: list[tuple[tuple, Any]], label_of: Callable[[tuple], tuple | None],
                  who: bool) -> list[tuple[tuple, tuple, Any]]:
        """(map key, label values, value) of the entries ``label_of`` keeps; with ``who`` the key
        starts with :attr:`who_key`, whose labels come first and ``label_of`` sees the rest."""
        if not who:
            return [(k, labels, v) for k, v in entries if (labels := label_of(k)) is not None]
        self.resolve_cgroups([k for k, _ in entries])
        out = []
        for key, value in entries:
            subject, rest = self.who_labels(key)
            labels = label_of(rest)
            if labels is not None:
                out.append((key, subject + tuple(labels), value))
        return out

    def histogram_family(self, name: str, labels: tuple[str, ...], hists: str, sums: str,
                         label_of: Callable[[tuple], tuple | None] = tuple, divisor: float = NS,
                         bounds: list[int] = LATENCY_BOUNDS, *, who: bool = False) -> Family:
        """A histogram family from a log2 ``hist()`` map and a ``sum()`` map with the same keys."""
        fam = self.family(name, "histogram", (self.who if who else ()) + labels)
        totals = self.read_dict(sums)
        for key, labelled, hist in self._labelled(self.read(hists), label_of, who):
            fam.add(labelled, Histogram(log2_buckets(hist.buckets, bounds, divisor), totals.get(key, 0) / divisor,
                                        hist.total))
        return fam

    def counter_family(self, name: str, labels: tuple[str, ...], source: str,
                       label_of: Callable[[tuple], tuple | None] = tuple, kind: str = "counter", *,
                       who: bool = False) -> Family:
        fam = self.family(name, kind, (self.who if who else ()) + labels)
        for _, labelled, value in self._labelled(self.read(source), label_of, who):
            fam.add(labelled, int(value))
        return fam
