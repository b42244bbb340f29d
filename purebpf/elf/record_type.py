"""Which BTF struct the records of a ring buffer or perf buffer map are.

A ring buffer carries bytes; the C program knows they are a ``struct event``.
The object tells us in one of these ways, tried in order:

1. the user names it (``--event-type event``, eunomia's ``export_types``);
2. the map says it: ``__type(value, struct event)`` on a ring buffer;
3. the code says its size -- the constant passed to ``bpf_ringbuf_reserve``,
   ``bpf_ringbuf_output`` or ``bpf_perf_event_output`` with this map -- and a
   struct of that size is *exported*: the type of a global variable (the
   ``struct event *unused`` idiom that puts it in the BTF; clang emits no
   BTF for the types of locals) or, failing that, named ``event``;
4. a struct named ``event``.

Reading the code needs no kernel: the call's arguments are found by walking
back from each helper call to the ``ld_imm64`` of the map (a relocation names
it) and the ``mov`` of the size, within the straight-line code before it.
"""

from __future__ import annotations

import struct

from purebpf.btf import BTF
from purebpf.btf import types as T
from purebpf.btf.kinds import Kind
from purebpf.elf.spec import ObjectSpec
from purebpf.errors import NotFoundError

# helper id -> (register holding the map, register holding the size)
_OUTPUT_HELPERS = {25: (2, 5), 130: (1, 3), 131: (1, 2)}  # perf_event_output, ringbuf_output, ringbuf_reserve
_INSN = struct.Struct("<BBhi")
_CALL, _EXIT, _LD_IMM64, _MOV64_K, _MOV64_X, _MOV32_K = 0x85, 0x95, 0x18, 0xB7, 0xBF, 0xB4
_LOOKBACK = 64


def record_type(spec: ObjectSpec, map_name: str, explicit: str | int | None = None) -> int | None:
    """BTF type id of ``map_name``'s records in ``spec.btf``, or None when nothing says."""
    btf = spec.btf
    if explicit is not None:
        return named_type(spec, explicit)
    if btf is None:
        return None
    mdef = spec.maps.get(map_name)
    if mdef is not None and mdef.btf_value_type_id and _is_composite(btf, mdef.btf_value_type_id):
        return mdef.btf_value_type_id
    sizes = record_sizes(spec).get(map_name, set())
    exported = exported_types(spec)
    for tid in exported:
        if btf.sizeof(tid) in sizes:
            return tid
    event = _struct_named(btf, "event")
    if sizes and event is None:
        sized = [tid for tid in exported if btf.sizeof(tid) in sizes]
        if len(sized) == 1:
            return sized[0]
    if event is not None and (not sizes or btf.sizeof(event) in sizes):
        return event
    if len(exported) == 1 and not sizes:
        return exported[0]
    return None


def named_type(spec: ObjectSpec, name: str | int) -> int:
    """The struct/union called ``name`` (``event``, ``struct event``) or with that id."""
    btf = spec.btf
    if btf is None:
        raise NotFoundError(f"{spec.path} has no BTF to find record type {name!r} in; compile with clang -g")
    if isinstance(name, int):
        return name
    bare = name.removeprefix("struct ").removeprefix("union ").strip()
    tid = _struct_named(btf, bare)
    if tid is None:
        known = ", ".join(sorted({btf.type_by_id(t).name for t in exported_types(spec)})) or "none exported"
        raise NotFoundError(f"{spec.path} has no struct '{bare}' in its BTF (exported structs: {known}); "
                            "a struct only used by local variables needs a global such as "
                            f"`struct {bare} *unused __attribute__((unused));` to appear in BTF")
    return tid


def _struct_named(btf: BTF, name: str) -> int | None:
    for kind in (Kind.STRUCT, Kind.UNION, Kind.TYPEDEF):
        for tid in btf.find_ids(name, kind):
            if _is_composite(btf, tid):
                return btf.resolve(tid).id
    return None


def _is_composite(btf: BTF, tid: int) -> bool:
    return isinstance(btf.resolve(tid), T.Composite)


def exported_types(spec: ObjectSpec) -> list[int]:
    """Structs that global variables have, directly or through a pointer, in address order."""
    btf = spec.btf
    out: list[int] = []
    for mdef in spec.maps.values():
        if not mdef.is_data:
            continue
        for var in sorted(mdef.variables.values(), key=lambda v: v.offset):
            if not var.type_id:
                continue
            t = btf.resolve(var.type_id)
            if isinstance(t, T.Pointer):
                t = btf.resolve(t.type)
            if isinstance(t, T.Composite) and t.name and t.id not in out:
                out.append(t.id)
    return out


def record_sizes(spec: ObjectSpec) -> dict[str, set[int]]:
    """Map name -> constant record sizes the code passes to the output helpers with it."""
    elf = spec.elf
    map_symbols = {m.name for m in spec.maps.values()}
    found: dict[str, set[int]] = {}
    for sec in elf.sections.values():
        if not sec.is_code:
            continue
        relocs = {r.offset: r.symbol.name for r in sec.relocations}
        insns = [_INSN.unpack_from(sec.data, off) for off in range(0, len(sec.data) - 7, 8)]
        for i, (code, regs, _off, imm) in enumerate(insns):
            if code != _CALL or regs >> 4 != 0 or imm not in _OUTPUT_HELPERS:
                continue
            map_reg, size_reg = _OUTPUT_HELPERS[imm]
            name, size = _call_args(insns, i, relocs, map_reg, size_reg)
            if name in map_symbols and size is not None:
                found.setdefault(name, set()).add(size)
    return found


def _call_args(insns: list[tuple], call: int, relocs: dict[int, str], map_reg: int,
               size_reg: int) -> tuple[str | None, int | None]:
    """Walk back from a call to what was last put in the map and size registers."""
    name: str | None = None
    size: int | None = None
    want_map, want_size = map_reg, size_reg
    for j in range(call - 1, max(call - _LOOKBACK, -1), -1):
        code, regs, _off, imm = insns[j]
        if code in (_CALL, _EXIT):
            break
        if j > 0 and insns[j - 1][0] == _LD_IMM64:
            continue  # second half of an ld_imm64
        dst, src = regs & 0xF, regs >> 4
        if code == _LD_IMM64 and dst == want_map:
            name, want_map = relocs.get(j * 8), -1
        elif dst == want_size and code in (_MOV64_K, _MOV32_K):
            size, want_size = imm, -1
        elif dst == want_size and code == _MOV64_X:
            want_size = src
        elif dst == want_map and code == _MOV64_X:
            want_map = src
        elif _writes(code) and dst in (want_map, want_size):
            if dst == want_map:
                want_map = -1
            if dst == want_size:
                want_size = -1
        if want_map == -1 and want_size == -1:
            break
    return name, size


def _writes(code: int) -> bool:
    """Whether an instruction of this opcode writes its dst register (ALU, loads)."""
    cls = code & 0x07
    return cls in (0x04, 0x07, 0x01, 0x00)  # ALU, ALU64, LDX, LD
