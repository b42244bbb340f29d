"""``tseries()`` maps in user space: per-CPU interval slots reduced to one value
per interval, the window of intervals to show, and bpftrace's text graph.

The BPF side keeps, per (key, epoch % num_intervals) and per CPU, a slot
``{value, meta, epoch}`` where epoch = time // interval.  An epoch of 0 marks a
slot never written.  The window shown ends at the newest epoch of the whole map
(so keys line up) and holds at most ``num_intervals`` intervals; an interval
with no value prints as ``-``.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass

GRAPH_WIDTH = 53
PADDING = 21
SLOT = 24
_UNITS = ((1_000_000_000, 0), (1_000_000, 3), (1_000, 6), (1, 9))  # (ns per unit, fraction digits)


@dataclass
class TSeries:
    """One key's series: (interval start in ns since the Unix epoch, value or None) per interval."""
    points: list[tuple[int, int | None]]
    signed: bool = False

    def __str__(self) -> str:
        return "\n".join(text_lines(self))


def _reduce(raw: bytes, signed: bool, agg: str) -> tuple[int, int]:
    """(epoch, value) of one bucket: CPUs' slots of the newest epoch combined; (0, 0) when unused."""
    fmt = "<qqQ" if signed else "<QQQ"
    by_epoch: dict[int, list[int]] = {}
    for off in range(0, len(raw) - SLOT + 1, SLOT):
        val, meta, epoch = struct.unpack_from(fmt, raw, off)
        if epoch == 0:
            continue
        cur = by_epoch.get(epoch)
        if cur is None:
            by_epoch[epoch] = [val, meta]
        elif agg == "":
            if meta > cur[1]:
                cur[:] = [val, meta]
        elif agg == "avg":
            cur[0] += val
            cur[1] += meta
        elif agg in ("min", "max"):
            cur[0] = min(cur[0], val) if agg == "min" else max(cur[0], val)
        else:
            cur[0] += val
    if not by_epoch:
        return 0, 0
    latest = max(by_epoch)
    val, meta = by_epoch[latest]
    if agg == "avg" and meta:
        q = abs(val) // abs(meta)
        val = q if (val >= 0) == (meta > 0) else -q
    return latest, val


def clock_offset() -> int:
    """ns to add to a BPF timestamp to get Unix time.  A dummy clock map (``BPFTRACE_DUMMY_TS_MAP``)
    already holds made-up Unix times."""
    if os.environ.get("BPFTRACE_DUMMY_TS_MAP"):
        return 0
    return time.time_ns() - time.monotonic_ns()


def collect(items: list[tuple[bytes, bytes]], key_size: int, tseries: tuple[int, int, str],
            signed: bool) -> list[tuple[bytes, TSeries]]:
    """Each user key (raw bytes, bucket index stripped) with its series, from a map's raw entries."""
    interval, count, agg = tseries
    series: dict[bytes, dict[int, int]] = {}
    for key, raw in items:
        epoch, value = _reduce(raw, signed, agg)
        series.setdefault(key[:key_size - 8], {}).setdefault(epoch, value)
    last = max((e for values in series.values() for e in values), default=0)
    offset = clock_offset()
    out = []
    for user, values in series.items():
        shown = [e for e in values if e > last - count] if last else []
        points = []
        if shown:
            points = [(e * interval + offset, values.get(e)) for e in range(min(shown), last + 1)]
        out.append((user, TSeries(points, signed)))
    return out


def _unit(points: list[tuple[int, int | None]]) -> int:
    """Fraction digits of the time column: the largest unit the interval is a whole number of."""
    step = (points[-1][0] - points[0][0]) // (len(points) - 1 if len(points) > 1 else 1)
    return next(digits for scale, digits in _UNITS if step % scale == 0)


def _clock(ns: int, fmt: str, digits: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    import datetime  # imported on first use: not on the start-up path

    text = datetime.datetime.fromtimestamp(secs).strftime(fmt)
    return text + (f".{frac // 10 ** (9 - digits):0{digits}d}" if digits else "")


def json_points(ts: TSeries) -> list[dict]:
    return [{"interval_start": _clock(t, "%Y-%m-%d %H:%M:%S", 9), "value": v} for t, v in ts.points
            if v is not None]


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _scaled(num: int, den: int, width: int) -> int:
    """``width * num / den`` in single precision, truncated, as bpftrace places points."""
    return int(_f32(_f32(float(width)) * _f32(float(num)) / _f32(float(den))))


def text_lines(ts: TSeries) -> list[str]:
    """The graph bpftrace prints: value range on top and bottom, one row per interval."""
    if not ts.points:
        return ["<no data>"]
    present = [v for _, v in ts.points if v is not None]
    lo, hi = min(present), max(present)
    if lo == hi:  # room on both sides of a flat line, but no unsigned value below 0
        lo, hi = (lo - 1 if ts.signed or lo > 0 else lo), hi + 1
    digits = _unit(ts.points)
    time_fmt = "hh:mm:ss" + (".ms" if digits == 3 else ".us" if digits == 6 else ".ns" if digits == 9 else "")
    size = 8 + (1 + digits if digits else 0)
    ends = " " * (size + 1) + f"{lo:<{PADDING}}" + f"{hi:>{GRAPH_WIDTH - PADDING}}"
    lines = [ends, f"{time_fmt:<{size + 1}}|" + "_" * (GRAPH_WIDTH - 2) + "|"]
    zero = _scaled(-lo, hi - lo, GRAPH_WIDTH) if lo < 0 < hi else 0
    for t, v in ts.points:
        row = ["|"] + [" "] * (GRAPH_WIDTH - 2) + ["|"]
        if zero > 0:
            row[zero] = "."
        if v is None:
            tail = " -"
        else:
            point = _scaled(v - lo, hi - lo, GRAPH_WIDTH - 1)
            row[max(0, min(GRAPH_WIDTH - 1, point))] = "*"
            tail = f" {v}"
        lines.append(_clock(t, "%H:%M:%S", digits) + " " + "".join(row) + tail)
    lines.append(" " * size + " v" + "_" * (GRAPH_WIDTH - 2) + "v")
    lines.append(ends)
    return lines
