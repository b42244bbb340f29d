"""Text output of map values in bpftrace's exact format: ``@name[key]: value``,
log2 and linear histograms with 52-column ``@`` bars, stats and avg lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BAR_WIDTH = 52
_SUFFIXES = ("", "K", "M", "G", "T", "P", "E")


@dataclass
class Stats:
    count: int
    total: int

    @property
    def average(self) -> int:
        return _cdiv(self.total, self.count) if self.count else 0


@dataclass
class Avg(Stats):
    pass


@dataclass
class Hist:
    """log2 buckets: index 0 negative, 1 zero, 2 one, then [2^(i-2), 2^(i-1))."""
    buckets: list[int]

    @property
    def total(self) -> int:
        return sum(self.buckets)


@dataclass
class LHist:
    """linear buckets: index 0 below ``lo``, last ``>= hi``."""
    buckets: list[int]
    lo: int
    hi: int
    step: int

    @property
    def total(self) -> int:
        return sum(self.buckets)


def _cdiv(a: int, b: int) -> int:
    """C division (truncate toward zero), as bpftrace computes averages."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def value_text(value: object) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, Avg):
        return str(value.average)
    if isinstance(value, Stats):
        return f"count {value.count}, average {value.average}, total {value.total}"
    return str(value)


def key_text(key: tuple) -> str:
    return "[" + ", ".join(value_text(k) for k in key) + "]" if key else ""


def _size_label(n: int) -> str:
    i = 0
    while n and n % 1024 == 0 and i < len(_SUFFIXES) - 1:
        n //= 1024
        i += 1
    return f"{n}{_SUFFIXES[i]}"


def _log2_label(i: int) -> str:
    if i == 0:
        return "(..., 0)"
    if i == 1:
        return "[0]"
    if i == 2:
        return "[1]"
    return f"[{_size_label(1 << (i - 2))}, {_size_label(1 << (i - 1))})"


def _lhist_label(i: int, h: LHist) -> str:
    nbuckets = len(h.buckets)
    if i == 0:
        return f"(..., {h.lo})"
    if i == nbuckets - 1:
        return f"[{h.hi}, ...)"
    lo = h.lo + (i - 1) * h.step
    return f"[{lo}, {lo + h.step})"


def histogram_lines(buckets: Sequence[int], label) -> list[str]:
    nonzero = [i for i, c in enumerate(buckets) if c]
    if not nonzero:
        return []
    top = max(buckets)
    lines = []
    for i in range(nonzero[0], nonzero[-1] + 1):
        count = buckets[i]
        bar = "@" * (count * BAR_WIDTH // top) if top else ""
        lines.append(f"{label(i):<16}{count:>8} |{bar:<{BAR_WIDTH}}|")
    return lines


def _sort_key(value: object):
    if isinstance(value, (Hist, LHist)):
        return value.total
    if isinstance(value, Avg):
        return value.average
    if isinstance(value, Stats):
        return value.average
    if isinstance(value, int):
        return value
    return 0


def map_text(name: str, entries: list[tuple[tuple, object]]) -> str:
    """All of one map, as bpftrace prints it at exit or with ``print(@m)``."""
    if not entries:
        return ""
    if all(isinstance(v, (int, Stats, Hist, LHist)) for _, v in entries):
        entries = sorted(entries, key=lambda kv: _sort_key(kv[1]))
    out: list[str] = []
    for key, value in entries:
        head = f"{name}{key_text(key)}: "
        if isinstance(value, Hist):
            out.append(head)
            out.extend(histogram_lines(value.buckets, _log2_label))
            out.append("")
        elif isinstance(value, LHist):
            out.append(head)
            out.extend(histogram_lines(value.buckets, lambda i, h=value: _lhist_label(i, h)))
            out.append("")
        else:
            out.append(head + value_text(value))
    if isinstance(entries[-1][1], Stats):  # avg and stats maps end with a blank line too
        out.append("")
    return "\n".join(out) + "\n"
