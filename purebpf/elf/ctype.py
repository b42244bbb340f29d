"""The C spelling of a BTF type: ``__u32``, ``char[16]``, ``struct event *``.

Used where a person (``--help``) or another tool (eunomia-bpf's package meta,
whose ``type`` fields are such strings) reads the type; qualifiers are left
out unless asked for, as eunomia does.
"""

from __future__ import annotations

from purebpf.btf import BTF
from purebpf.btf import types as T


def c_type_name(btf: BTF, type_id: int, *, qualifiers: bool = False) -> str:
    base, dims = _split(btf, type_id, qualifiers)
    return base + "".join(f"[{n}]" for n in dims)


def _split(btf: BTF, type_id: int, qualifiers: bool) -> tuple[str, list[int]]:
    """(spelling of the element type, array dimensions outermost first)."""
    t = btf.type_by_id(type_id)
    if isinstance(t, T.Array):
        base, dims = _split(btf, t.type, qualifiers)
        return base, [t.nelems, *dims]
    if isinstance(t, T.Qualifier):
        base, dims = _split(btf, t.type, qualifiers)
        if not qualifiers:
            return base, dims
        word = t.kind.name.lower()
        return f"{word} {base}", dims
    if isinstance(t, T.TypeTag):
        return _split(btf, t.type, qualifiers)
    return _scalar(btf, t, qualifiers), []


def _scalar(btf: BTF, t: T.Type, qualifiers: bool) -> str:
    if isinstance(t, T.Void) or t.id == 0:
        return "void"
    if isinstance(t, T.Pointer):
        inner = c_type_name(btf, t.type, qualifiers=qualifiers)
        return inner + ("*" if inner.endswith("*") else " *")
    if isinstance(t, T.Union):
        return f"union {t.display_name}"
    if isinstance(t, T.Struct):
        return f"struct {t.display_name}"
    if isinstance(t, T.Enum):
        return f"enum {t.display_name}"
    if isinstance(t, T.Fwd):
        return f"{'union' if t.is_union else 'struct'} {t.display_name}"
    if isinstance(t, T.FuncProto):
        return "void (*)()"
    return t.name or "(anon)"
