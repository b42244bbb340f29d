"""BTF as ``bpftool btf dump ... format raw`` prints it, line for line.

    [1] INT 'long unsigned int' size=8 bits_offset=0 nr_bits=64 encoding=(none)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from purebpf.btf.kinds import IntEncoding, Kind
from purebpf.btf.spec import BTF
from purebpf.btf.types import Type

_INT_ENCODING = {0: "(none)", IntEncoding.SIGNED: "SIGNED", IntEncoding.CHAR: "CHAR", IntEncoding.BOOL: "BOOL"}
_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def render_raw(btf: BTF, types: Iterable[Type | int] | None = None) -> str:
    """Raw lines for ``types`` (ids or types), or for every type of ``btf``."""
    return "".join(line + "\n" for line in raw_lines(btf, types))


def raw_lines(btf: BTF, types: Iterable[Type | int] | None = None) -> Iterator[str]:
    for t in (btf if types is None else types):
        yield from type_lines(btf, btf.type_by_id(t) if isinstance(t, int) else t)


def _name(name: str) -> str:
    return f"'{name or '(anon)'}'"


def type_lines(btf: BTF, t: Type) -> list[str]:
    """The line (and, for types with members, the indented lines) bpftool prints for ``t``."""
    kind = t.kind
    head = f"[{t.id}] {kind.name} {_name(t.name)}"
    if kind == Kind.INT:
        enc = _INT_ENCODING.get(t.encoding, "UNKN")
        return [f"{head} size={t.size} bits_offset={t.bit_offset} nr_bits={t.bits} encoding={enc}"]
    if kind in (Kind.PTR, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPEDEF, Kind.TYPE_TAG):
        return [f"{head} type_id={t.type}"]
    if kind == Kind.ARRAY:
        return [f"{head} type_id={t.type} index_type_id={t.index_type} nr_elems={t.nelems}"]
    if kind in (Kind.STRUCT, Kind.UNION):
        lines = [f"{head} size={t.size} vlen={len(t.members)}"]
        for m in t.members:
            line = f"\t{_name(m.name)} type_id={m.type} bits_offset={m.bit_offset}"
            lines.append(line + (f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""))
        return lines
    if kind in (Kind.ENUM, Kind.ENUM64):
        enc = "SIGNED" if t.signed else "UNSIGNED"
        lines = [f"{head} encoding={enc} size={t.size} vlen={len(t.values)}"]
        suffix = ("LL" if t.signed else "ULL") if kind == Kind.ENUM64 else ""
        lines.extend(f"\t{_name(v.name)} val={v.value}{suffix}" for v in t.values)
        return lines
    if kind == Kind.FWD:
        return [f"{head} fwd_kind={'union' if t.is_union else 'struct'}"]
    if kind == Kind.FUNC:
        return [f"{head} type_id={t.type} linkage={_LINKAGE.get(t.linkage, 'UNKN')}"]
    if kind == Kind.FUNC_PROTO:
        lines = [f"{head} ret_type_id={t.return_type} vlen={len(t.params)}"]
        lines.extend(f"\t{_name(p.name)} type_id={p.type}" for p in t.params)
        return lines
    if kind == Kind.VAR:
        return [f"{head} type_id={t.type}, linkage={_LINKAGE.get(t.linkage, 'UNKN')}"]
    if kind == Kind.DATASEC:
        lines = [f"{head} size={t.size} vlen={len(t.vars)}"]
        for v in t.vars:
            var = btf.type_by_id(v.type)
            lines.append(f"\ttype_id={v.type} offset={v.offset} size={v.size} ({var.kind.name} {_name(var.name)})")
        return lines
    if kind == Kind.FLOAT:
        return [f"{head} size={t.size}"]
    if kind == Kind.DECL_TAG:
        return [f"{head} type_id={t.type} component_idx={t.component_idx}"]
    return [f"[{t.id}] UNKNOWN {_name(t.name)}"]
