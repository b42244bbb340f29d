"""``-f json``: values, maps and histograms as bpftrace writes them (its own
spacing: ``", "`` in objects and histograms, a bare ``,`` in other arrays)."""

from __future__ import annotations

from purebpf.trace.render import Hist, LHist, Stats, bucket_range
from purebpf.trace.semantic import MapInfo
from purebpf.trace.tseries import json_points
from purebpf.trace.values import Buffer, TBool


def map_json(name: str, info: MapInfo, entries: list[tuple[tuple, object]]) -> dict | None:
    """The record ``print(@map)`` writes, or None for a scalar map with nothing to show."""
    if info.kind in ("hist", "lhist"):
        kind = "hist"
        data = {_json_key(k): _json_hist(v) for k, v in entries}
    elif info.kind == "tseries":
        kind = "tseries"
        data = {_json_key(k): json_points(v) for k, v in entries}
    elif info.kind in ("stats", "avg") and any(isinstance(v, Stats) for _, v in entries):
        kind = "stats"
        data = {_json_key(k): ({"count": v.count, "average": v.average, "total": v.total}
                               if info.kind == "stats" else v.average) for k, v in entries}
    else:
        kind = "map"
        data = {_json_key(k): jsonable(v) for k, v in entries}
    if info.key is None:
        data = data.get("", [] if kind in ("hist", "tseries") else None)
        if data is None:
            return None
    return {"type": kind, "data": {name: data}}


def json_text(value: object) -> str:
    """JSON as bpftrace writes it: ``", "`` and ``": "`` in objects, bare ``,`` in arrays."""
    import json  # only -f json needs it: imported on first use

    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        sep = ", " if isinstance(value, _Buckets) else ","
        return "[" + sep.join(json_text(v) for v in value) + "]"
    return json.dumps(value)


def _json_key(key: tuple) -> str:
    return ",".join(str(k) for k in key)


def jsonable(v: object) -> object:
    if isinstance(v, TBool):
        return bool(v)
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, Buffer):
        return str(v)
    if isinstance(v, Stats):
        return v.average
    if isinstance(v, int) and type(v) is not int:
        return int(v) if type(v).__name__ in ("EnumValue", "Pointer") else str(v)
    return v


class _Buckets(list):
    """Histogram buckets: bpftrace separates these array items with ", " (tuples get a bare ",")."""


def _json_hist(h: Hist | LHist) -> list[dict]:
    out = _Buckets()
    for i in bucket_range(h.buckets):
        lo, hi = h.bounds(i)
        entry = {"min": lo, "max": hi, "count": h.buckets[i]}
        out.append({k: v for k, v in entry.items() if v is not None})
    return out
