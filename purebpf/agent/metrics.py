"""The agent's metric model: families of samples keyed by label values, and
the cardinality cap that keeps a family's series count bounded.

Probes rebuild their families from cumulative BPF maps at each collection, so
a family here is a snapshot, not a running accumulator; counters stay
monotonic because the maps only grow (and the agent carries a restarted
probe's earlier totals).  The cap is the one piece of state that
lives across collections: which label sets were admitted first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OTHER = "other"


@dataclass
class Histogram:
    """Cumulative buckets as exposition wants them: (upper bound, count <= bound)."""
    buckets: list[tuple[float, int]]
    sum: float
    count: int

    def merge(self, other: Histogram) -> Histogram:
        if [b for b, _ in self.buckets] != [b for b, _ in other.buckets]:
            raise ValueError("histograms with different bucket bounds cannot be merged")
        buckets = [(b, c1 + c2) for (b, c1), (_, c2) in zip(self.buckets, other.buckets, strict=True)]
        return Histogram(buckets, self.sum + other.sum, self.count + other.count)


Value = float | int | Histogram


@dataclass
class Family:
    """One metric: ``name`` is the base name (counters get ``_total`` on output)."""
    name: str
    kind: str  # "counter", "gauge" or "histogram"
    help: str
    labels: tuple[str, ...] = ()
    samples: dict[tuple[str, ...], Value] = field(default_factory=dict)

    def add(self, labels: tuple, value: Value) -> None:
        """Sum into the series with these label values (several map keys may map to one series)."""
        key = tuple(str(v) for v in labels)
        old = self.samples.get(key)
        if old is None:
            self.samples[key] = value
        elif isinstance(old, Histogram):
            self.samples[key] = old.merge(value)  # type: ignore[arg-type]
        else:
            self.samples[key] = old + value  # type: ignore[operator]


def log2_buckets(counts: list[int], raw_bounds: list[int], divisor: float = 1) -> list[tuple[float, int]]:
    """Cumulative buckets from bpftrace's log2 histogram layout.

    bpftrace's bucket 0 holds negatives, 1 holds zero, bucket i >= 2 holds
    [2^(i-2), 2^(i-1)).  ``raw_bounds`` are the exposed upper bounds in raw
    units (powers of two), exposed divided by ``divisor`` (1e9: ns to seconds); a raw bucket counts under
    a bound only when its largest value is at or below it, so no bound over-counts.
    """
    out, j, running = [], 0, 0
    for bound in raw_bounds:
        while j < len(counts) and (-1 if j == 0 else 0 if j == 1 else (1 << (j - 1)) - 1) <= bound:
            running += counts[j]
            j += 1
        out.append((bound / divisor, running))
    out.append((float("inf"), sum(counts)))
    return out


def power_bounds(lo_exp: int, hi_exp: int, step: int = 2) -> list[int]:
    """Bucket bounds 2^lo_exp .. 2^hi_exp in raw units, every ``step`` powers (2: each 4x the last)."""
    return [1 << e for e in range(lo_exp, hi_exp + 1, step)]


class CardinalityCap:
    """At most ``limit`` series per family; later label sets collapse into one
    series whose label values are all ``other``.

    The first label sets seen keep their own series for the agent's lifetime,
    so a series never flips between its own name and ``other`` (which would
    break counter monotonicity).  ``collapsed`` counts distinct label sets
    that were folded, per family.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.admitted: dict[str, set[tuple[str, ...]]] = {}
        self.folded: dict[str, set[tuple[str, ...]]] = {}
        self.collapsed: dict[str, int] = {}

    def apply(self, fam: Family) -> Family:
        if not fam.labels or self.limit <= 0:
            return fam
        admitted = self.admitted.setdefault(fam.name, set())
        out = Family(fam.name, fam.kind, fam.help, fam.labels)
        other = (OTHER,) * len(fam.labels)
        for key in sorted(fam.samples, key=lambda k: (k not in admitted, k)):
            value = fam.samples[key]
            if key in admitted or len(admitted) < self.limit - 1:  # one slot stays for "other"
                admitted.add(key)
                out.add(key, value)
                continue
            folded = self.folded.setdefault(fam.name, set())
            if key not in folded:
                folded.add(key)
                self.collapsed[fam.name] = self.collapsed.get(fam.name, 0) + 1
            out.add(other, value)
        return out
