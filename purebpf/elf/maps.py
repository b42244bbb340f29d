"""Map definitions of a BPF object: BTF-defined ``.maps``, the legacy ``maps``
section, and the global-data maps libbpf makes of ``.data``/``.bss``/``.rodata``.

A BTF-defined map is a struct whose members *encode* the attributes in their
types (``bpf_helpers.h``): ``__uint(type, X)`` is ``int (*type)[X]`` so the value
is the pointed-to array's length; ``__type(key, T)`` is ``T *key``;
``__array(values, D)`` is ``D *values[]``, D being the inner map's definition
(map-in-map) or a function prototype (prog array).  Initial ``values`` come as
relocations in ``.rel.maps``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from purebpf.btf.kinds import Kind, Linkage
from purebpf.btf.spec import BTF
from purebpf.elf.reader import ElfFile, Section
from purebpf.errors import InvalidInputError
from purebpf.sys.constants import MapFlags, MapType

BPF_OBJ_NAME_LEN = 16
LIBBPF_PIN_NONE = 0
LIBBPF_PIN_BY_NAME = 1
_UINT_ATTRS = {"type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "map_extra", "pinning"}


@dataclass
class Variable:
    """A global variable living in a data map."""
    name: str
    offset: int
    size: int
    type_id: int = 0      # BTF type of the variable (0 without BTF)
    static: bool = False


@dataclass
class MapDef:
    """What the object asks for; the loader turns it into a MapSpec."""
    name: str                       # as the C code / libbpf names it (``counts``, ``globals.bss``)
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    numa_node: int = 0
    map_extra: int = 0
    pinning: int = LIBBPF_PIN_NONE
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    inner: MapDef | None = None
    section: str = ".maps"
    symbol_offset: int = 0          # where its definition / data starts in ``section``
    symbol_size: int = 0
    # global data maps
    data: bytes | None = None       # initial value of the single entry
    readonly: bool = False          # .rodata / .kconfig: frozen after initialisation
    variables: dict[str, Variable] = field(default_factory=dict)
    # initial contents of prog arrays / map-in-map: slot -> program or map name
    init_slots: dict[int, str] = field(default_factory=dict)

    @property
    def is_data(self) -> bool:
        return self.data is not None


# ---- BTF-defined maps --------------------------------------------------------------------------


def btf_maps(elf: ElfFile, btf: BTF | None) -> list[MapDef]:
    sec = elf.section(".maps")
    if sec is None:
        return []
    if btf is None:
        raise InvalidInputError(f"{elf.path}: has a .maps section but no .BTF to describe it; compile with clang -g")
    datasec = _datasec(btf, ".maps")
    if datasec is None:
        raise InvalidInputError(f"{elf.path}: .BTF has no DATASEC for .maps; compile with clang -g")
    syms = {s.name: s for s in elf.symbols_in(sec.index, "OBJECT")}
    maps = []
    values_at: dict[str, int] = {}
    for vsi in datasec.vars:
        var = btf.type_by_id(vsi.type)
        if var.kind != Kind.VAR:
            continue
        sym = syms.get(var.name)
        if sym is None:
            raise InvalidInputError(f"{elf.path}: map '{var.name}' in .maps has no ELF symbol")
        mdef = _parse_map_struct(btf, var.name, var.type, elf.path)
        mdef.symbol_offset, mdef.symbol_size = sym.value, sym.size or btf.sizeof(var.type)
        maps.append(mdef)
        struct_t = btf.resolve(var.type)
        values = next((m for m in struct_t.members if m.name == "values"), None)
        if values is not None:
            values_at[var.name] = sym.value + values.bit_offset // 8
    _apply_initial_values(elf, sec, maps, values_at)
    return maps


def _parse_map_struct(btf: BTF, name: str, type_id: int, path: str, inner: bool = False) -> MapDef:
    t = btf.resolve(type_id)
    if t.kind != Kind.STRUCT:
        raise InvalidInputError(f"{path}: map '{name}' is a {t.kind.name.lower()}, not a struct; "
                                "define it with __uint/__type in a struct")
    attrs: dict[str, int] = {}
    key_id = value_id = 0
    inner_def = None
    has_values = False
    for m in t.members:
        if m.name in _UINT_ATTRS:
            attrs[m.name] = _uint_value(btf, m.type, name, m.name, path)
        elif m.name in ("key", "value"):
            ptr = btf.resolve(m.type)
            if ptr.kind != Kind.PTR:
                raise InvalidInputError(f"{path}: map '{name}' {m.name} must be declared with __type()")
            if m.name == "key":
                key_id = ptr.type
            else:
                value_id = ptr.type
        elif m.name == "values":
            arr = btf.resolve(m.type)
            if arr.kind != Kind.ARRAY or arr.nelems != 0:
                raise InvalidInputError(f"{path}: map '{name}' values must be declared with __array()")
            has_values = True
            elem = btf.resolve(arr.type)
            if elem.kind != Kind.PTR:
                raise InvalidInputError(f"{path}: map '{name}' values must be an array of pointers")
            target = btf.resolve(elem.type)
            if target.kind == Kind.STRUCT:
                if inner:
                    raise InvalidInputError(f"{path}: map '{name}' nests map-in-map more than one level")
                inner_def = _parse_map_struct(btf, f"{name}.inner", target.id, path, inner=True)
            elif target.kind != Kind.FUNC_PROTO:
                raise InvalidInputError(f"{path}: map '{name}' values must point to a map definition "
                                        "or a program prototype")
        else:
            raise InvalidInputError(f"{path}: map '{name}' has unknown attribute '{m.name}'")
    if "type" not in attrs:
        raise InvalidInputError(f"{path}: map '{name}' has no __uint(type, ...)")
    try:
        map_type = MapType(attrs["type"])
    except ValueError:
        raise InvalidInputError(f"{path}: map '{name}' has unknown map type {attrs['type']}") from None
    key_size = btf.sizeof(key_id) if key_id else attrs.get("key_size", 0)
    value_size = btf.sizeof(value_id) if value_id else attrs.get("value_size", 0)
    for what, explicit, got in (("key", "key_size", key_size), ("value", "value_size", value_size)):
        if explicit in attrs and attrs[explicit] != got:
            raise InvalidInputError(f"{path}: map '{name}' {what} type is {got} bytes but {explicit} "
                                    f"says {attrs[explicit]}")
    if inner_def is not None and map_type not in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        raise InvalidInputError(f"{path}: map '{name}' has an inner map definition but is a "
                                f"{map_type.name.lower()} map")
    if has_values:  # slots hold fds (programs or maps): 4 bytes
        value_size, value_id = 4, 0
    return MapDef(
        name=name, type=map_type, key_size=key_size, value_size=value_size,
        max_entries=attrs.get("max_entries", 0), flags=attrs.get("map_flags", 0),
        numa_node=attrs.get("numa_node", 0), map_extra=attrs.get("map_extra", 0),
        pinning=attrs.get("pinning", LIBBPF_PIN_NONE), btf_key_type_id=key_id, btf_value_type_id=value_id,
        inner=inner_def)


def _uint_value(btf: BTF, type_id: int, map_name: str, attr: str, path: str) -> int:
    ptr = btf.resolve(type_id)
    arr = btf.resolve(ptr.type) if ptr.kind == Kind.PTR else None
    if arr is None or arr.kind != Kind.ARRAY:
        raise InvalidInputError(f"{path}: map '{map_name}' attribute '{attr}' must be declared with __uint()")
    return arr.nelems


def _apply_initial_values(elf: ElfFile, sec: Section, maps: list[MapDef], values_at: dict[str, int]) -> None:
    """``.values = { [i] = &prog_or_map }``: relocations in .maps name what goes in each slot."""
    for rel in sec.relocations:
        owner = next((m for m in maps if m.symbol_offset <= rel.offset < m.symbol_offset + m.symbol_size), None)
        if owner is None:
            raise InvalidInputError(f"{elf.path}: relocation at .maps+{rel.offset} is outside every map")
        start = values_at.get(owner.name)
        if start is None:
            raise InvalidInputError(f"{elf.path}: map '{owner.name}' is initialised but has no __array(values)")
        slot, rem = divmod(rel.offset - start, 8)
        if slot < 0 or rem:
            raise InvalidInputError(f"{elf.path}: map '{owner.name}' initial value at .maps+{rel.offset} "
                                    "is not a values[] slot")
        if owner.type == MapType.PROG_ARRAY:
            if rel.symbol.type != "FUNC":
                raise InvalidInputError(f"{elf.path}: prog array '{owner.name}' slot {slot} must name a program")
        elif owner.inner is None or rel.symbol.section != sec.index:
            raise InvalidInputError(f"{elf.path}: map '{owner.name}' slot {slot} must name a map in .maps")
        owner.init_slots[slot] = rel.symbol.name
        if slot >= owner.max_entries:
            raise InvalidInputError(f"{elf.path}: map '{owner.name}' initialises slot {slot} but has "
                                    f"max_entries {owner.max_entries}")


def _datasec(btf: BTF, name: str):
    for tid in btf.find_ids(name, Kind.DATASEC):
        return btf.type_by_id(tid)
    return None


# ---- legacy ``maps`` section (struct bpf_map_def) ---------------------------------------------

_LEGACY = struct.Struct("<IIIII")


def legacy_maps(elf: ElfFile) -> list[MapDef]:
    sec = elf.section("maps")
    if sec is None:
        return []
    syms = elf.symbols_in(sec.index)
    syms = [s for s in syms if s.type in ("OBJECT", "NOTYPE") and s.bind != "FILE"]
    if not syms:
        return []
    size = sec.size // len(syms)
    if size < _LEGACY.size:
        raise InvalidInputError(f"{elf.path}: legacy maps section holds {len(syms)} maps in {sec.size} bytes: "
                                "too small for struct bpf_map_def")
    out = []
    for sym in syms:
        raw = sec.content[sym.value:sym.value + size]
        mtype, ksize, vsize, maxent, flags = _LEGACY.unpack_from(raw.ljust(_LEGACY.size, b"\0"))
        try:
            map_type = MapType(mtype)
        except ValueError:
            raise InvalidInputError(f"{elf.path}: legacy map '{sym.name}' has unknown type {mtype}") from None
        out.append(MapDef(sym.name, map_type, ksize, vsize, maxent, flags=flags, section="maps",
                          symbol_offset=sym.value, symbol_size=size))
    return out


# ---- global data --------------------------------------------------------------------------------


def is_data_section(name: str) -> bool:
    return (name in (".data", ".bss", ".rodata") or name.startswith(".data.")
            or name.startswith(".rodata."))


def internal_map_name(obj_name: str, section: str) -> str:
    """libbpf's name for a global-data map: as much of the object name as fits before
    the section name (``globals.rodata``); ``.rodata.foo``-style sections go alone."""
    sfx_len = min(max(7, len(section)), BPF_OBJ_NAME_LEN - 1)
    pfx_len = 0 if "." in section[1:] else min(BPF_OBJ_NAME_LEN - sfx_len - 1, len(obj_name))
    name = (obj_name[:pfx_len] + section[:sfx_len])[:BPF_OBJ_NAME_LEN - 1]
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)


def data_maps(elf: ElfFile, btf: BTF | None) -> list[MapDef]:
    out = []
    for sec in elf.sections.values():
        if not is_data_section(sec.name) or sec.size == 0:
            continue
        readonly = sec.name.startswith(".rodata")
        variables, datasec_id, any_global = _variables(elf, sec, btf)
        flags = MapFlags.RDONLY_PROG if readonly else 0
        if any_global:
            flags |= MapFlags.MMAPABLE
        out.append(MapDef(
            name=internal_map_name(elf.name, sec.name), type=MapType.ARRAY, key_size=4, value_size=sec.size,
            max_entries=1, flags=int(flags), btf_value_type_id=datasec_id, section=sec.name, symbol_size=sec.size,
            data=sec.content, readonly=readonly, variables=variables))
    return out


def _variables(elf: ElfFile, sec: Section, btf: BTF | None) -> tuple[dict[str, Variable], int, bool]:
    """The section's variables from the symbol table, typed from its DATASEC when there is BTF."""
    variables = {s.name: Variable(s.name, s.value, s.size, static=s.bind == "LOCAL")
                 for s in elf.symbols_in(sec.index, "OBJECT")}
    datasec = _datasec(btf, sec.name) if btf is not None else None
    if datasec is None:
        return variables, 0, any(not v.static for v in variables.values())
    any_global = False
    for vsi in datasec.vars:
        var = btf.type_by_id(vsi.type)
        if var.kind != Kind.VAR:
            continue
        v = variables.get(var.name)
        if v is not None:
            v.type_id = var.type
            v.static = var.linkage == Linkage.STATIC
        if var.linkage != Linkage.STATIC:
            any_global = True
    return variables, datasec.id, any_global
