"""Text output of map values in bpftrace's exact format: ``@name[key]: value``,
log2 and linear histograms with 52-column ``@`` bars, stats and avg lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from purebpf.trace.tseries import TSeries, text_lines

BAR_WIDTH = 52
_SUFFIXES = ("", "K", "M", "G", "T", "P", "E")


@dataclass
class Stats:
    count: int
    total: int

    @property
    def average(self) -> int:
        return _cdiv(self.total, self.count) if self.count else 0

    def scaled(self, div: int) -> Stats:
        return type(self)(self.count, self.total // div if div else self.total)


@dataclass
class Avg(Stats):
    pass


@dataclass
class Hist:
    """log2 buckets: index 0 negative, 1 zero, then powers of two, each split
    in ``2**bits`` linear sub-buckets (``hist(x, bits)``)."""
    buckets: list[int]
    bits: int = 0

    @property
    def total(self) -> int:
        return sum(self.buckets)

    def bounds(self, i: int) -> tuple[int | None, int | None]:
        """(lowest, highest) value bucket ``i`` holds; None for unbounded."""
        if i == 0:
            return None, -1
        if i == 1:
            return 0, 0
        sub_count = 1 << self.bits
        if i <= sub_count:
            return i - 1, i - 1
        j = i - 1 - sub_count
        power = self.bits + j // sub_count
        width = 1 << (power - self.bits)
        lo = (sub_count + j % sub_count) * width
        return lo, lo + width - 1


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

    def bounds(self, i: int) -> tuple[int | None, int | None]:
        if i == 0:
            return None, self.lo - 1
        if i == len(self.buckets) - 1:
            return self.hi, None
        lo = self.lo + (i - 1) * self.step
        return lo, lo + self.step - 1


def _cdiv(a: int, b: int) -> int:
    """C division (truncate toward zero), as bpftrace computes averages."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def value_text(value: object) -> str:
    if value is None:  # a member with no value (a float): printed empty
        return ""
    if isinstance(value, tuple):
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    if isinstance(value, bytes) and type(value) is bytes:
        return value.decode(errors="replace")
    if isinstance(value, Avg):
        return str(value.average)
    if isinstance(value, Stats):
        return f"{{ .count = {value.count}, .average = {value.average}, .total = {value.total} }}"
    return str(value)


def key_text(key: tuple) -> str:
    return "[" + ", ".join(value_text(k) for k in key) + "]" if key else ""


def _size_label(n: int) -> str:
    i = 0
    while n and n % 1024 == 0 and i < len(_SUFFIXES) - 1:
        n //= 1024
        i += 1
    return f"{n}{_SUFFIXES[i]}"


def _hist_label(h: Hist, i: int) -> str:
    lo, hi = h.bounds(i)
    if lo is None:
        return "(..., 0)"
    if lo == hi:
        return f"[{_size_label(lo)}]"
    return f"[{_size_label(lo)}, {_size_label(hi + 1)})"


def _lhist_label(h: LHist, i: int) -> str:
    nbuckets = len(h.buckets)
    if i == 0:
        return f"(..., {h.lo})"
    if i == nbuckets - 1:
        return f"[{h.hi}, ...)"
    lo = h.lo + (i - 1) * h.step
    return f"[{lo}, {lo + h.step})"


def bucket_range(buckets: Sequence[int]) -> range:
    """From the first to the last non-empty bucket (what bpftrace prints)."""
    nonzero = [i for i, c in enumerate(buckets) if c]
    return range(nonzero[0], nonzero[-1] + 1) if nonzero else range(0)


def histogram_lines(buckets: Sequence[int], label) -> list[str]:
    shown = bucket_range(buckets)
    if not shown:
        return []
    top = max(buckets)
    lines = []
    for i in shown:
        count = buckets[i]
        bar = "@" * (count * BAR_WIDTH // top) if top else ""
        lines.append(f"{label(i):<16}{count:>8} |{bar:<{BAR_WIDTH}}|")
    return lines


def _sort_key(value: object):
    if isinstance(value, (Hist, LHist)):
        return value.total
    if isinstance(value, Stats):
        return value.average
    if isinstance(value, int):
        return int(value)
    return 0


def sort_entries(entries: list[tuple[tuple, object]]) -> list[tuple[tuple, object]]:
    """bpftrace's order: by value for numbers and aggregations, otherwise by key."""
    if all(isinstance(v, (int, Stats, Hist, LHist)) for _, v in entries):
        try:
            entries = sorted(entries, key=lambda kv: _key_sort(kv[0]))
        except TypeError:
            pass
        return sorted(entries, key=lambda kv: _sort_key(kv[1]))
    try:
        return sorted(entries, key=lambda kv: _key_sort(kv[0]))
    except TypeError:
        return entries


def _key_sort(key: tuple):
    return tuple((0, int(k)) if isinstance(k, int) else (1, str(k)) for k in key)


def select(entries: list[tuple[tuple, object]], top: int = 0, div: int = 0) -> list[tuple[tuple, object]]:
    """``print(@m, top, div)``: the last ``top`` entries in print order, values divided by ``div``."""
    entries = sort_entries(entries)
    if top:
        entries = entries[-top:]
    if div:
        entries = [(k, _divide(v, div)) for k, v in entries]
    return entries


def _divide(value: object, div: int) -> object:
    if isinstance(value, Stats):
        return value.scaled(div)
    if isinstance(value, (Hist, LHist)):
        return value
    if isinstance(value, int) and type(value) is int:
        return int(value / div)
    return value


def map_text(name: str, entries: list[tuple[tuple, object]], *, sort: bool = True) -> str:
    """All of one map, as bpftrace prints it at exit or with ``print(@m)``."""
    if not entries:
        return ""
    if sort:
        entries = sort_entries(entries)
    out: list[str] = []
    for key, value in entries:
        head = f"{name}{key_text(key)}:"
        if isinstance(value, Hist):
            out.append(head)
            out.extend(histogram_lines(value.buckets, lambda i, h=value: _hist_label(h, i)))
            out.append("")
        elif isinstance(value, LHist):
            out.append(head)
            out.extend(histogram_lines(value.buckets, lambda i, h=value: _lhist_label(h, i)))
            out.append("")
        elif isinstance(value, TSeries):
            out.append(head)
            out.extend(text_lines(value))
            out.append("")
        else:
            out.append(head + " " + value_text(value))
    if isinstance(entries[-1][1], Stats):  # avg and stats maps end with a blank line too
        out.append("")
    return "\n".join(out) + "\n"
