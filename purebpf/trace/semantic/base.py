"""The analysis's shared state and how values are stored (structs with their layout)."""

from __future__ import annotations

from purebpf.sys.cpus import possible_cpus
from purebpf.trace.location import Diagnostics, Location
from purebpf.trace.semantic.scope import Environment, MapInfo, storage_type
from purebpf.trace.structs import MAX_STRUCT_COPY
from purebpf.trace.types import TType, Tup


class SemanticBase:
    """State every part of the analysis shares: diagnostics, environment, the program's maps."""

    def __init__(self, diags: Diagnostics, env: Environment | None = None) -> None:
        self.diags = diags
        self.env = env or Environment()
        self.maps: dict[str, MapInfo] = {}
        self.ncpus = possible_cpus()

    def error(self, message: str, loc: Location) -> None:
        self.diags.error(message, loc)

    def stored(self, t: TType, loc: Location | None = None) -> TType:
        """How a value is kept in a variable, map or event: integers widened to 64 bits,
        structs with their members' layout (so user space can print them)."""
        if t.kind == "struct":
            if t.size > MAX_STRUCT_COPY and loc is not None:
                self.error(f"{t} is {t.size} bytes, too large to copy onto the BPF stack: read its members "
                           "(p->field) instead", loc)
            return self.struct_view(t)
        if t.kind == "tuple":
            return Tup([self.field_type(e) for e in t.elems], list(t.names))
        if t.kind == "array":
            return self.array_view(t)
        return storage_type(t)

    def field_type(self, t: TType) -> TType:
        """How a value is kept inside a tuple: C layout, integers at their own size."""
        if t.kind in ("struct", "tuple", "array"):
            return self.stored(t)
        return t

    def array_view(self, t: TType) -> TType:
        """An array of structs (or of arrays of them) with each struct's members laid out, so that
        user space can print the elements."""
        elem = t.elems[0]
        if elem.kind == "struct":
            view = self.struct_view(elem)
        elif elem.kind == "array":
            view = self.array_view(elem)
        else:
            return t
        return t if view == elem else TType("array", t.size, False, (view,))

    def struct_view(self, t: TType) -> TType:
        layout = self.env.structs.layout(t.extra)
        if layout is None or t.size > MAX_STRUCT_COPY:
            return t  # code generation says the struct is too large to copy
        members = [m for m in layout.members if m.name]
        return TType("struct", t.size, False, tuple(self.struct_view(m.type) if m.type.kind == "struct" else
                                                   self.array_view(m.type) if m.type.kind == "array" else m.type
                                                   for m in members),
                     tuple(m.name for m in members), t.extra, tuple(m.offset * 8 + m.bit_offset for m in members),
                     tuple(m.bit_size for m in members))
