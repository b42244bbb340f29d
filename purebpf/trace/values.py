"""Decoding what the BPF side wrote (map keys and values, event records)
into Python values the renderers print."""

from __future__ import annotations

from purebpf.trace.render import Avg, Hist, LHist, Stats
from purebpf.trace.semantic import MapInfo
from purebpf.trace.types import TType


def decode(t: TType, data: bytes) -> object:
    if t.kind == "int":
        return int.from_bytes(data[:8], "little", signed=t.signed)
    if t.kind == "string":
        return data[: t.size].split(b"\0", 1)[0].decode(errors="replace")
    if t.kind == "tuple":
        return tuple(decode(e, data[off: off + e.padded]) for e, off in zip(t.elems, t.offsets(), strict=True))
    return data


def decode_key(info: MapInfo, data: bytes) -> tuple:
    """The user-visible key as a tuple (empty for scalar maps)."""
    if info.key is None:
        return ()
    value = decode(info.key, data[: info.key.padded])
    return value if info.key.kind == "tuple" else (value,)


def _slots(info: MapInfo, raw: bytes) -> list[bytes]:
    size = (info.value_size + 7) & ~7
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def _i64(data: bytes, off: int = 0) -> int:
    return int.from_bytes(data[off:off + 8], "little", signed=True)


def combine(info: MapInfo, raw: bytes) -> object:
    """One entry's value; per-CPU aggregations are combined across CPUs."""
    kind = info.kind
    if not info.per_cpu:
        return decode(info.value, raw)
    slots = _slots(info, raw)
    if kind in ("count", "hist", "lhist"):
        return sum(int.from_bytes(s[:8], "little") for s in slots)
    if kind == "sum":
        return sum(_i64(s) for s in slots)
    if kind in ("min", "max"):
        values = [_i64(s) for s in slots if _i64(s, 8)]
        return (min(values) if kind == "min" else max(values)) if values else 0
    count = sum(_i64(s) for s in slots)
    total = sum(_i64(s, 8) for s in slots)
    return Avg(count, total) if kind == "avg" else Stats(count, total)


def map_entries(info: MapInfo, items: list[tuple[bytes, bytes]]) -> list[tuple[tuple, object]]:
    """All entries of a map from its raw (key, value) pairs; histogram buckets
    (the last 8 bytes of the key) are gathered under their user key."""
    if info.kind not in ("hist", "lhist"):
        return [(decode_key(info, k), combine(info, v)) for k, v in items]
    groups: dict[tuple, list[int]] = {}
    order: list[tuple] = []
    for k, v in items:
        user = decode_key(info, k)
        bucket = int.from_bytes(k[-8:], "little")
        if user not in groups:
            groups[user] = []
            order.append(user)
        counts = groups[user]
        if bucket >= len(counts):
            counts.extend([0] * (bucket + 1 - len(counts)))
        counts[bucket] += int(combine(info, v))
    out: list[tuple[tuple, object]] = []
    for user in order:
        counts = groups[user]
        if info.kind == "lhist":
            counts = counts + [0] * (info.lhist_buckets - len(counts))
            lo, hi, step = info.lhist
            out.append((user, LHist(counts, lo, hi, step)))
        else:
            out.append((user, Hist(counts)))
    return out
