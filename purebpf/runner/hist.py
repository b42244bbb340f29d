"""Histogram maps: where the buckets are, reading them, printing them.

Two shapes are recognised, the ones libbpf-tools and eunomia-bpf use:

* a map whose value is a struct with an integer array (``__u32 slots[N]``,
  found by that name or as the struct's only integer array): one histogram per
  key (``comm = bash``), or
* an array map of integers (or an integer-array value): bucket ``i`` is key
  ``i``, one histogram for the whole map.

Per-CPU maps are summed over CPUs.  Log2 histograms print as libbpf-tools'
``print_log2_hist`` does (``0 -> 1``, ``2 -> 3``, ``4 -> 7``... with 40-star
bars), linear ones one bucket per line.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from purebpf.btf import BTF
from purebpf.btf import types as T
from purebpf.elf.maps import MapDef
from purebpf.errors import InvalidInputError
from purebpf.maps import Map
from purebpf.maps.btf_codec import BTFCodec
from purebpf.sys import MapType

_PERCPU = (MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH)
_ARRAYS = (MapType.ARRAY, MapType.PERCPU_ARRAY)
_FMT = {(1, False): "B", (2, False): "H", (4, False): "I", (8, False): "Q",
        (1, True): "b", (2, True): "h", (4, True): "i", (8, True): "q"}


@dataclass
class HistLayout:
    """Where a map keeps its buckets."""
    map_name: str
    per_key: bool           # one histogram per key (slots in the value) or buckets are keys
    offset: int             # of the bucket array in the value
    count: int              # buckets in the value (1 when buckets are keys)
    elem: struct.Struct     # one bucket
    value_size: int
    percpu: bool
    key_type_id: int = 0


def hist_layout(btf: BTF | None, mdef: MapDef) -> HistLayout | None:
    """The buckets of map ``mdef``, or None when it holds no histogram."""
    if btf is None or not mdef.btf_value_type_id:
        return None
    vt = btf.resolve(mdef.btf_value_type_id)
    percpu = mdef.type in _PERCPU
    common = dict(map_name=mdef.name, value_size=mdef.value_size, percpu=percpu,
                  key_type_id=mdef.btf_key_type_id)
    if isinstance(vt, T.Struct):
        arrays = [(m, btf.resolve(m.type)) for m in vt.members if not m.bitfield_size]
        arrays = [(m, a) for m, a in arrays if isinstance(a, T.Array) and _int_elem(btf, a) is not None]
        chosen = next(((m, a) for m, a in arrays if m.name == "slots"), arrays[0] if len(arrays) == 1 else None)
        if chosen is None:
            return None
        m, a = chosen
        return HistLayout(per_key=True, offset=m.bit_offset // 8, count=a.nelems, elem=_int_elem(btf, a), **common)
    if isinstance(vt, T.Array) and _int_elem(btf, vt) is not None:
        return HistLayout(per_key=True, offset=0, count=vt.nelems, elem=_int_elem(btf, vt), **common)
    if isinstance(vt, T.Int) and not vt.is_bool and mdef.type in _ARRAYS and (vt.size, vt.signed) in _FMT:
        return HistLayout(per_key=False, offset=0, count=1, elem=struct.Struct("<" + _FMT[(vt.size, vt.signed)]),
                          **common)
    return None


def _int_elem(btf: BTF, a: T.Array) -> struct.Struct | None:
    e = btf.resolve(a.type)
    if isinstance(e, T.Int) and not e.is_bool and e.size > 1 and (e.size, e.signed) in _FMT:
        return struct.Struct("<" + _FMT[(e.size, e.signed)])
    return None


def require_layout(btf: BTF | None, mdef: MapDef) -> HistLayout:
    layout = hist_layout(btf, mdef)
    if layout is None:
        what = "has no BTF value type" if btf is None or not mdef.btf_value_type_id else \
            f"holds {_c(btf, mdef.btf_value_type_id)} values"
        raise InvalidInputError(f"map '{mdef.name}' is not a histogram: it {what}; --hist takes a map whose value "
                                "is a struct with an integer array (e.g. __u32 slots[N]) or an array map of "
                                "integer buckets")
    return layout


def _c(btf: BTF, tid: int) -> str:
    from purebpf.elf.ctype import c_type_name
    return c_type_name(btf, tid)


def read_hists(m: Map, layout: HistLayout, btf: BTF | None) -> list[tuple[str | None, list[int]]]:
    """(key label, bucket counts) for every histogram in the map, in key order."""
    if not layout.per_key:
        counts = [0] * m.max_entries
        for key, value in m.items_raw():
            index = int.from_bytes(key[:4], "little")
            if index < len(counts):
                counts[index] = sum(_percpu_values(value, layout, 0))
        return [(None, counts)]
    key_codec = BTFCodec(btf, layout.key_type_id) if btf is not None and layout.key_type_id else None
    out: list[tuple[Any, list[int]]] = []
    for key, value in m.items_raw():
        counts = [sum(_percpu_values(value, layout, layout.offset + i * layout.elem.size))
                  for i in range(layout.count)]
        out.append((key_label(key_codec.decode(key) if key_codec else key), counts))
    out.sort(key=lambda item: str(item[0]))
    return out


def _percpu_values(value: bytes, layout: HistLayout, offset: int) -> list[int]:
    if not layout.percpu:
        return [layout.elem.unpack_from(value, offset)[0]]
    stride = (layout.value_size + 7) & ~7
    return [layout.elem.unpack_from(value, cpu + offset)[0] for cpu in range(0, len(value), stride)]


def key_label(key: Any) -> str:
    if isinstance(key, dict):
        return ", ".join(f"{k} = {v}" for k, v in key.items())
    if isinstance(key, bytes | bytearray):
        return f"key = {key.hex()}"
    return f"key = {key}"


# -- printing ------------------------------------------------------------------------------


def _stars(count: int, most: int, width: int) -> str:
    n = min(count, most) * width // most if most else 0
    return "*" * n + " " * (width - n) + ("+" if count > most else "")


def log2_lines(counts: list[int], unit: str = "value") -> list[str]:
    """libbpf-tools' print_log2_hist layout."""
    top = max((i for i, c in enumerate(counts) if c), default=-1)
    if top < 0:
        return []
    most = max(counts)
    narrow = top <= 32
    width, stars = (10, 40) if narrow else (20, 20)
    lines = [f"{'':{5 if narrow else 15}}{unit:<{19 if narrow else 29}} : count    distribution"]
    for i in range(top + 1):
        low, high = (1 << (i + 1)) >> 1, (1 << (i + 1)) - 1
        if low == high:
            low -= 1
        lines.append(f"{low:>{width}} -> {high:<{width}} : {counts[i]:<8} |{_stars(counts[i], most, stars)}|")
    return lines


def linear_lines(counts: list[int], unit: str = "value") -> list[str]:
    top = max((i for i, c in enumerate(counts) if c), default=-1)
    if top < 0:
        return []
    most = max(counts)
    lines = [f"{unit:>15} : count    distribution"]
    lines += [f"{i:>15} : {counts[i]:<8} |{_stars(counts[i], most, 40)}|" for i in range(top + 1)]
    return lines


def hist_json(map_name: str, hists: list[tuple[str | None, list[int]]], kind: str = "log2") -> dict:
    out = []
    for label, counts in hists:
        top = max((i for i, c in enumerate(counts) if c), default=-1)
        buckets = []
        for i in range(top + 1):
            if kind == "log2":
                low, high = (1 << (i + 1)) >> 1, (1 << (i + 1)) - 1
                low = low - 1 if low == high else low
            else:
                low = high = i
            buckets.append({"low": low, "high": high, "count": counts[i]})
        out.append({"key": label, "buckets": buckets})
    return {"map": map_name, "type": f"{kind}_hist", "hists": out}
