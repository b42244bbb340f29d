"""What every probe family shares: its life cycle (start, poll, collect,
stop), its documentation (help and metric names), and, for probes written in
the bpftrace language, compiling, loading and reading their maps.

A probe keeps its kernel state in cumulative maps and turns them into
families only when the agent collects, so the event path never touches
user space.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from purebpf.agent.config import Filters
from purebpf.agent.metrics import Family, Histogram, log2_buckets, power_bounds
from purebpf.errors import BPFError

NS = 1e9  # divisor: nanoseconds to seconds
LATENCY_BOUNDS = power_bounds(10, 34)  # 1 us .. 17 s in 4x steps, in ns


@dataclass
class MapUsage:
    name: str
    entries: int
    capacity: int


@dataclass
class ProbeContext:
    """What the agent lends its probes: a logger and shared symbol/device lookups."""
    log: Callable[[str], None] = print
    events: list[str] = field(default_factory=list)


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

    def check(self) -> None:
        from purebpf.trace.compiler import compile_program
        compile_program(self.source(), name=f"agent:{self.name}")

    def start(self) -> None:
        from purebpf.trace.compiler import compile_program
        from purebpf.trace.runtime import Tracer
        program = compile_program(self.source(), name=f"agent:{self.name}")
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

    def histogram_family(self, name: str, labels: tuple[str, ...], hists: str, sums: str,
                         label_of: Callable[[tuple], tuple | None], divisor: float = NS,
                         bounds: list[int] = LATENCY_BOUNDS) -> Family:
        """A histogram family from a log2 ``hist()`` map and a ``sum()`` map with the same keys."""
        fam = self.family(name, "histogram", labels)
        totals = self.read_dict(sums)
        for key, hist in self.read(hists):
            labelled = label_of(key)
            if labelled is None:
                continue
            fam.add(labelled, Histogram(log2_buckets(hist.buckets, bounds, divisor), totals.get(key, 0) / divisor,
                                        hist.total))
        return fam

    def counter_family(self, name: str, labels: tuple[str, ...], source: str,
                       label_of: Callable[[tuple], tuple | None], kind: str = "counter") -> Family:
        fam = self.family(name, kind, labels)
        for key, value in self.read(source):
            labelled = label_of(key)
            if labelled is not None:
                fam.add(labelled, int(value))
        return fam
