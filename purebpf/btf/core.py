"""CO-RE: relocate field offsets, type ids and enum values against the target kernel's BTF.

A program compiled against one kernel's ``vmlinux.h`` records, for every
access through ``BPF_CORE_READ``/``bpf_core_*``, *what* it reads (a type and an
access path like ``0:58:1``), not just the offset clang computed.  Here each
such record is resolved against the running kernel (or a BTF the user gives)
with libbpf's rules, and the instruction is patched with the kernel's value.
What the kernel lacks becomes libbpf's poison instruction, so the verifier
fails only if that code is reachable, at the right instruction.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from purebpf.btf.kinds import Kind
from purebpf.errors import InvalidInputError

if TYPE_CHECKING:
    from purebpf.btf.spec import BTF
    from purebpf.btf.types import Type


class CoreReloKind(IntEnum):
    """``enum bpf_core_relo_kind``."""
    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


@dataclass(frozen=True, slots=True)
class CoreRelo:
    """One ``bpf_core_relo`` record: at instruction ``insn``, the value described by
    local type ``type_id`` and ``access`` (``"0:1:2"``) of ``kind``."""
    insn: int
    type_id: int
    access: str
    kind: CoreReloKind


# ---------------------------------------------------------------------------------------------
# Resolution, following libbpf's relo_core.c: parse the local access spec, find candidate
# target types by "essential" name (``task_struct___old`` -> ``task_struct``), match the spec
# in each candidate, compute the value, and patch the instruction.
# ---------------------------------------------------------------------------------------------

POISON_IMM = 0xBAD2310          # call imm of a poisoned instruction ("unknown#195896080" in the log)
MAX_SPEC_LEN = 64
_FIELD_KINDS = frozenset({CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_BYTE_SIZE, CoreReloKind.FIELD_EXISTS,
                          CoreReloKind.FIELD_SIGNED, CoreReloKind.FIELD_LSHIFT_U64, CoreReloKind.FIELD_RSHIFT_U64})
_TYPE_KINDS = frozenset({CoreReloKind.TYPE_ID_LOCAL, CoreReloKind.TYPE_ID_TARGET, CoreReloKind.TYPE_EXISTS,
                         CoreReloKind.TYPE_SIZE, CoreReloKind.TYPE_MATCHES})
_ENUMVAL_KINDS = frozenset({CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE})


class CoreError(InvalidInputError):
    """A CO-RE relocation is malformed or ambiguous (not merely unresolvable: those are poisoned)."""


class _Poison(Exception):
    """Internal: the relocation cannot be satisfied; the instruction gets poisoned."""


def essential_name(name: str) -> str:
    """``task_struct___old`` -> ``task_struct``: libbpf ignores the last ``___flavour``."""
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 1:i + 4] == "___" and name[i + 4] != "_":
            return name[:i + 1]
    return name


@dataclass
class _Accessor:
    type_id: int      # the composite (member access) or array element / root type
    idx: int
    name: str | None  # member name; None for array index (and the root access)


@dataclass
class _Spec:
    btf: BTF
    root_type_id: int
    kind: CoreReloKind
    accessors: list[_Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0


def _kind(btf: BTF, type_id: int) -> Kind:
    return btf.kind_of(type_id)


def _skip(btf: BTF, type_id: int) -> Type:
    return btf.resolve(type_id)


def _is_composite(t: Type) -> bool:
    return t.kind in (Kind.STRUCT, Kind.UNION)


def _is_enum(t: Type) -> bool:
    return t.kind in (Kind.ENUM, Kind.ENUM64)


def _is_flex_array(btf: BTF, acc: _Accessor | None, arr: Type) -> bool:
    if acc is None or not acc.name or arr.nelems > 0:
        return False
    parent = btf.type_by_id(acc.type_id)
    return acc.idx == len(parent.members) - 1


def _parse_spec(btf: BTF, relo: CoreRelo) -> _Spec:
    try:
        raw = [int(x) for x in relo.access.split(":")]
    except ValueError:
        raise CoreError(f"CO-RE access string {relo.access!r} is malformed") from None
    if not raw or len(raw) > MAX_SPEC_LEN:
        raise CoreError(f"CO-RE access string {relo.access!r} is empty or too deep")
    spec = _Spec(btf, relo.type_id, relo.kind, raw=raw)
    if relo.kind in _TYPE_KINDS:
        if raw != [0]:
            raise CoreError(f"type-based CO-RE relocation has access {relo.access!r}, expected '0'")
        return spec
    if relo.kind in _ENUMVAL_KINDS:
        t = _skip(btf, relo.type_id)
        if not _is_enum(t) or len(raw) != 1 or raw[0] >= len(t.values):
            raise CoreError(f"enum CO-RE relocation on {_describe_type(btf, relo.type_id)} with access "
                            f"{relo.access!r} is invalid")
        spec.accessors.append(_Accessor(t.id, raw[0], t.values[raw[0]].name))
        return spec
    if relo.kind not in _FIELD_KINDS:
        raise CoreError(f"unknown CO-RE relocation kind {relo.kind}")
    t = _skip(btf, relo.type_id)
    type_id = t.id
    spec.accessors.append(_Accessor(type_id, raw[0], None))
    spec.bit_offset = raw[0] * btf.sizeof(type_id) * 8
    for idx in raw[1:]:
        t = _skip(btf, type_id)
        if _is_composite(t):
            if idx >= len(t.members):
                raise CoreError(f"CO-RE access {relo.access!r} names member #{idx} of "
                                f"{_describe_type(btf, t.id)}, which has {len(t.members)}")
            m = t.members[idx]
            spec.bit_offset += m.bit_offset
            if m.name:
                spec.accessors.append(_Accessor(t.id, idx, m.name))
            type_id = m.type
        elif t.kind == Kind.ARRAY:
            elem = _skip(btf, t.type)
            if not _is_flex_array(btf, spec.accessors[-1], t) and idx >= t.nelems:
                raise CoreError(f"CO-RE access {relo.access!r} indexes [{idx}] past an array of {t.nelems}")
            spec.accessors.append(_Accessor(elem.id, idx, None))
            spec.bit_offset += idx * btf.sizeof(elem.id) * 8
            type_id = elem.id
        else:
            raise CoreError(f"CO-RE access {relo.access!r} goes into {t.kind.name} "
                            f"{_describe_type(btf, t.id)}, which has no members")
    return spec


# ---- compatibility rules -----------------------------------------------------------------

def _kind_compat(a: Type, b: Type) -> bool:
    return a.kind == b.kind or (_is_enum(a) and _is_enum(b))


def _fields_compat(lb: BTF, lid: int, tb: BTF, tid: int) -> bool:
    for _ in range(32):
        lt, tt = _skip(lb, lid), _skip(tb, tid)
        if _is_composite(lt) and _is_composite(tt):
            return True
        if not _kind_compat(lt, tt):
            return False
        if lt.kind in (Kind.PTR, Kind.FLOAT):
            return True
        if lt.kind in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if lt.kind == Kind.INT:
            return lt.bit_offset == 0 and tt.bit_offset == 0
        if lt.kind == Kind.ARRAY:
            lid, tid = lt.type, tt.type
            continue
        return False
    return False


def types_are_compat(lb: BTF, lid: int, tb: BTF, tid: int, level: int = 2) -> bool:
    """libbpf's bpf_core_types_are_compat: shape-compatible, names already matched."""
    if not _kind_compat(lb.type_by_id(lid), tb.type_by_id(tid)):
        return False
    for _ in range(32):
        lt, tt = _skip(lb, lid), _skip(tb, tid)
        if not _kind_compat(lt, tt):
            return False
        if lt.kind in (Kind.UNKN, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD):
            return True
        if lt.kind == Kind.INT:
            return lt.bit_offset == 0 and tt.bit_offset == 0
        if lt.kind == Kind.PTR:
            lid, tid = lt.type, tt.type
        elif lt.kind == Kind.ARRAY:
            lid, tid = lt.type, tt.type
        elif lt.kind == Kind.FUNC_PROTO:
            if len(lt.params) != len(tt.params) or level <= 0:
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_are_compat(lb, _skip(lb, lp.type).id, tb, _skip(tb, tp.type).id, level - 1):
                    return False
            lid, tid = lt.return_type, tt.return_type
        else:
            return False
    return False


def _names_match(ln: str, tn: str) -> bool:
    if not tn:
        return not ln
    return essential_name(ln) == essential_name(tn)


def types_match(lb: BTF, lid: int, tb: BTF, tid: int, behind_ptr: bool = False, level: int = 32) -> bool:
    """libbpf's bpf_core_types_match (``bpf_core_type_matches``): a stricter, layout-level match."""
    while True:
        if level <= 0:
            return False
        lt, tt = _skip(lb, lid), _skip(tb, tid)
        if not _names_match(lt.name, tt.name):
            return False
        lk, tk = lt.kind, tt.kind
        if lk == Kind.UNKN:
            return tk == lk
        if lk == Kind.FWD:
            if behind_ptr and tk != lk:
                return (tk == Kind.STRUCT and not lt.is_union) or (tk == Kind.UNION and lt.is_union)
            return tk == lk and lt.is_union == tt.is_union
        if _is_enum(lt):
            if not _is_enum(tt) or lt.size != tt.size:
                return False
            return all(any(_names_match(v.name, w.name) for w in tt.values) for v in lt.values)
        if _is_composite(lt):
            if behind_ptr:
                if lk == tk:
                    return True
                return tk == Kind.FWD and (lk == Kind.UNION) == tt.is_union
            if lk != tk or len(lt.members) > len(tt.members):
                return False
            for lm in lt.members:
                tm = next((m for m in tt.members if _names_match(lm.name, m.name)), None)
                if tm is None or not types_match(lb, lm.type, tb, tm.type, behind_ptr, level - 1):
                    return False
            return True
        if lk == Kind.INT:
            return tk == lk and lt.size == tt.size and lt.signed == tt.signed
        if lk == Kind.PTR:
            if tk != lk:
                return False
            behind_ptr, lid, tid = True, lt.type, tt.type
        elif lk == Kind.ARRAY:
            if tk != lk or lt.nelems != tt.nelems:
                return False
            lid, tid = lt.type, tt.type
        elif lk == Kind.FUNC_PROTO:
            if tk != lk or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_match(lb, lp.type, tb, tp.type, behind_ptr, level - 1):
                    return False
            lid, tid = lt.return_type, tt.return_type
        else:
            return False
        level -= 1


# ---- matching a local spec in one candidate -------------------------------------------------

def _match_member(lb: BTF, lacc: _Accessor, tb: BTF, tid: int, spec: _Spec) -> int | None:
    """Find ``lacc``'s member by name in target type ``tid`` (looking through anonymous
    members); extend ``spec``; return the member's type id, or None (no match)."""
    lmember = lb.type_by_id(lacc.type_id).members[lacc.idx]
    tt = _skip(tb, tid)
    if not _is_composite(tt):
        return None
    for i, m in enumerate(tt.members):
        if len(spec.raw) >= MAX_SPEC_LEN:
            raise CoreError(f"CO-RE match of {lmember.name} nests too deep")
        spec.bit_offset += m.bit_offset
        spec.raw.append(i)
        if not m.name:
            found = _match_member(lb, lacc, tb, m.type, spec)
            if found is not None:
                return found
        elif m.name == lacc.name:
            if not _fields_compat(lb, lmember.type, tb, m.type):
                spec.raw.pop()
                spec.bit_offset -= m.bit_offset
                return None
            spec.accessors.append(_Accessor(tt.id, i, m.name))
            return m.type
        spec.bit_offset -= m.bit_offset
        spec.raw.pop()
    return None


def _match_spec(local: _Spec, tb: BTF, cand_id: int) -> _Spec | None:
    lb = local.btf
    targ = _Spec(tb, cand_id, local.kind)
    if local.kind in _TYPE_KINDS:
        ok = (types_match(lb, local.root_type_id, tb, cand_id) if local.kind == CoreReloKind.TYPE_MATCHES
              else types_are_compat(lb, local.root_type_id, tb, cand_id))
        return targ if ok else None
    if local.kind in _ENUMVAL_KINDS:
        tt = _skip(tb, cand_id)
        if not _is_enum(tt):
            return None
        want = essential_name(local.accessors[0].name)
        for i, v in enumerate(tt.values):
            if essential_name(v.name) == want:
                targ.accessors.append(_Accessor(tt.id, i, v.name))
                targ.raw.append(i)
                return targ
        return None
    tid = cand_id
    for i, lacc in enumerate(local.accessors):
        if lacc.name:
            nxt = _match_member(lb, lacc, tb, tid, targ)
            if nxt is None:
                return None
            tid = nxt
            continue
        if i > 0:
            tt = _skip(tb, tid)
            if tt.kind != Kind.ARRAY:
                return None
            prev = targ.accessors[-1] if targ.accessors else None
            if not _is_flex_array(tb, prev, tt) and lacc.idx >= tt.nelems:
                return None
            tid = _skip(tb, tt.type).id
        else:
            tid = _skip(tb, tid).id
        targ.accessors.append(_Accessor(tid, lacc.idx, None))
        targ.raw.append(lacc.idx)
        targ.bit_offset += lacc.idx * tb.sizeof(tid) * 8
    return targ


# ---- computing values -------------------------------------------------------------------------

@dataclass
class CoreResult:
    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    validate: bool = True
    orig_sz: int = 0
    new_sz: int = 0
    orig_type_id: int = 0
    new_type_id: int = 0
    fail_memsz_adjust: bool = False
    candidates: int = 0     # kernel types with the local type's name (0: the kernel lacks the type itself)


def _field_value(spec: _Spec | None, kind: CoreReloKind) -> tuple[int, int, int, bool]:
    """(value, field size, field type id, validate) of a field relocation on ``spec``."""
    if kind == CoreReloKind.FIELD_EXISTS:
        return (1 if spec is not None else 0), 0, 0, True
    if spec is None:
        raise _Poison
    btf = spec.btf
    acc = spec.accessors[-1]
    if not acc.name:
        if kind == CoreReloKind.FIELD_BYTE_OFFSET:
            return spec.bit_offset // 8, btf.sizeof(acc.type_id), acc.type_id, True
        if kind == CoreReloKind.FIELD_BYTE_SIZE:
            return btf.sizeof(acc.type_id), 0, 0, True
        raise CoreError(f"CO-RE relocation {kind.name} cannot be applied to an array element")
    parent = btf.type_by_id(acc.type_id)
    m = parent.members[acc.idx]
    mt = _skip(btf, m.type)
    bit_off, bit_sz = spec.bit_offset, m.bitfield_size
    bitfield = bit_sz > 0
    field_sz = field_type = 0
    if bitfield:
        byte_sz = mt.size
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise CoreError(f"bitfield {m.name} cannot be read with a 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = btf.sizeof(mt.id)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    validate = not bitfield
    if kind == CoreReloKind.FIELD_BYTE_OFFSET:
        val = byte_off
        if not bitfield:
            field_sz, field_type = byte_sz, mt.id
    elif kind == CoreReloKind.FIELD_BYTE_SIZE:
        val = byte_sz
    elif kind == CoreReloKind.FIELD_SIGNED:
        val = int(bool(getattr(mt, "signed", False)) and mt.kind in (Kind.INT, Kind.ENUM, Kind.ENUM64))
        validate = True
    elif kind == CoreReloKind.FIELD_LSHIFT_U64:
        val = 64 - (bit_off + bit_sz - byte_off * 8)
    elif kind == CoreReloKind.FIELD_RSHIFT_U64:
        val = 64 - bit_sz
        validate = True
    else:
        raise CoreError(f"unsupported field relocation {kind.name}")
    return val, field_sz, field_type, validate


def _type_value(spec: _Spec | None, kind: CoreReloKind) -> int:
    if spec is None:
        return 0
    if kind == CoreReloKind.TYPE_ID_TARGET:
        return spec.root_type_id
    if kind in (CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES):
        return 1
    if kind == CoreReloKind.TYPE_SIZE:
        return spec.btf.sizeof(spec.root_type_id)
    raise CoreError(f"unsupported type relocation {kind.name}")


def _enum_value(spec: _Spec | None, kind: CoreReloKind) -> int:
    if kind == CoreReloKind.ENUMVAL_EXISTS:
        return 1 if spec is not None else 0
    if spec is None:
        raise _Poison
    acc = spec.accessors[0]
    return spec.btf.type_by_id(acc.type_id).values[acc.idx].value


def _calc(local: _Spec, targ: _Spec | None, kind: CoreReloKind) -> CoreResult:
    res = CoreResult()
    try:
        if kind in _FIELD_KINDS:
            res.orig_val, res.orig_sz, res.orig_type_id, res.validate = _field_value(local, kind)
            res.new_val, res.new_sz, res.new_type_id, _ = _field_value(targ, kind)
            if res.orig_sz != res.new_sz:
                ot = local.btf.type_by_id(res.orig_type_id)
                nt = targ.btf.type_by_id(res.new_type_id)
                safe = (ot.kind == Kind.PTR and nt.kind == Kind.PTR) or (
                    ot.kind == Kind.INT and nt.kind == Kind.INT and not ot.signed and not nt.signed)
                res.fail_memsz_adjust = not safe
        elif kind in _TYPE_KINDS:
            res.orig_val, res.new_val = _type_value(local, kind), _type_value(targ, kind)
        else:
            res.orig_val, res.new_val = _enum_value(local, kind), _enum_value(targ, kind)
    except _Poison:
        res.poison = True
    return res


# ---- candidates and the whole relocation ------------------------------------------------------

class CandidateCache:
    """Target types per (essential name, kind), shared by all relocations of an object."""

    def __init__(self, target: BTF) -> None:
        self.target = target
        self._cache: dict[tuple[str, Kind], list[int]] = {}

    def candidates(self, name: str, kind: Kind) -> list[int]:
        key = (name, kind)
        got = self._cache.get(key)
        if got is None:
            kinds = (Kind.ENUM, Kind.ENUM64) if kind in (Kind.ENUM, Kind.ENUM64) else (kind,)
            got = [i for k in kinds for i in self.target.find_ids(name, k)]
            self._cache[key] = got
        return got


def _describe_type(btf: BTF, type_id: int) -> str:
    kind = btf.kind_of(type_id)
    name = btf.name_of(type_id) or "(anon)"
    prefix = {Kind.STRUCT: "struct ", Kind.UNION: "union ", Kind.ENUM: "enum ", Kind.ENUM64: "enum "}.get(kind, "")
    return prefix + name


def describe(btf: BTF, relo: CoreRelo) -> str:
    """``struct task_struct___old.made_up_field`` / ``enum pid_type::PIDTYPE_TGID``: what a relo reads."""
    root = _describe_type(btf, relo.type_id)
    try:
        spec = _parse_spec(btf, relo)
    except CoreError:
        return f"{root} (access {relo.access})"
    if relo.kind in _ENUMVAL_KINDS:
        return f"{root}::{spec.accessors[0].name}"
    if relo.kind in _TYPE_KINDS:
        return root
    path = ""
    for acc in spec.accessors[1:]:
        path += f".{acc.name}" if acc.name else f"[{acc.idx}]"
    return root + (path or f"[{spec.accessors[0].idx}]")


def resolve(relo: CoreRelo, local: BTF, cands: CandidateCache) -> CoreResult:
    """The value ``relo`` takes on the target kernel, or a poison result when nothing matches."""
    spec = _parse_spec(local, relo)
    if relo.kind == CoreReloKind.TYPE_ID_LOCAL:
        return CoreResult(relo.type_id, relo.type_id, validate=False)
    local_type = local.type_by_id(relo.type_id)
    name = essential_name(local_type.name)
    if not name:
        raise CoreError(f"CO-RE relocation on an anonymous type ({_describe_type(local, relo.type_id)}) "
                        "cannot be matched by name")
    chosen: CoreResult | None = None
    chosen_spec: _Spec | None = None
    found = cands.candidates(name, local_type.kind)
    for cand in found:
        targ = _match_spec(spec, cands.target, cand)
        if targ is None:
            continue
        res = _calc(spec, targ, relo.kind)
        if chosen is None:
            chosen, chosen_spec = res, targ
        elif targ.bit_offset != chosen_spec.bit_offset:
            raise CoreError(f"CO-RE relocation of {describe(local, relo)} is ambiguous: kernel types "
                            f"give offsets {chosen_spec.bit_offset} and {targ.bit_offset} bits")
        elif res.poison != chosen.poison or res.new_val != chosen.new_val:
            raise CoreError(f"CO-RE relocation of {describe(local, relo)} is ambiguous: kernel types "
                            f"give {chosen.new_val} and {res.new_val}")
    if chosen is None:
        chosen = _calc(spec, None, relo.kind)
    chosen.candidates = len(found)
    return chosen


def missing_reason(local: BTF, relo: CoreRelo, res: CoreResult) -> str:
    """Why a relocation found nothing, naming the kernel type and the missing member."""
    t = local.type_by_id(relo.type_id)
    kernel_type = _describe_type(local, relo.type_id).replace(t.name, essential_name(t.name))
    if not res.candidates:
        return f"the kernel has no {kernel_type} (needed by {describe(local, relo)})"
    what = describe(local, relo)
    if relo.kind in _ENUMVAL_KINDS:
        return f"kernel {kernel_type} has no value {what.split('::')[-1]} (needed by {what})"
    path = what[len(_describe_type(local, relo.type_id)):].lstrip(".")
    return f"kernel {kernel_type} has no field {path} (needed by {what})"


# ---- patching instructions -------------------------------------------------------------------

_CLS_LD, _CLS_LDX, _CLS_ST, _CLS_STX, _CLS_ALU, _CLS_ALU64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x07
_SIZE_BYTES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}
_SLOT = struct.Struct("<BBhi")


def _poison(code: bytearray, idx: int) -> None:
    _SLOT.pack_into(code, idx * 8, 0x85, 0, 0, POISON_IMM)  # call unknown#195896080


def patch_insn(code: bytearray, idx: int, res: CoreResult, what: str, missing: str = "") -> str | None:
    """Apply ``res`` to instruction ``idx``; returns why it was poisoned, or None."""
    if idx * 8 + 8 > len(code):
        raise CoreError(f"CO-RE relocation of {what} points past the end of its section (insn {idx})")
    op, regs, off, imm = _SLOT.unpack_from(code, idx * 8)
    cls = op & 0x07
    if res.poison:
        return _poison_at(code, idx, op, missing or f"{what} not found in the kernel's BTF")
    if cls in (_CLS_ALU, _CLS_ALU64):
        if op & 0x08:
            raise CoreError(f"CO-RE relocation of {what} is on a register ALU instruction (insn {idx})")
        if res.validate and (imm & 0xFFFFFFFF) != (res.orig_val & 0xFFFFFFFF):
            raise CoreError(f"CO-RE relocation of {what}: insn {idx} holds {imm}, expected {res.orig_val}")
        _SLOT.pack_into(code, idx * 8, op, regs, off, _s32(res.new_val))
        return None
    if cls in (_CLS_LDX, _CLS_ST, _CLS_STX):
        if res.validate and off != res.orig_val:
            raise CoreError(f"CO-RE relocation of {what}: insn {idx} has offset {off}, expected {res.orig_val}")
        if res.new_val > 0x7FFF:
            raise CoreError(f"CO-RE relocation of {what}: offset {res.new_val} does not fit an instruction")
        if res.fail_memsz_adjust:
            return _poison_at(code, idx, op, f"{what} changed size ({res.orig_sz} -> {res.new_sz} bytes) and "
                                             "is not a pointer or unsigned integer")
        if res.new_sz != res.orig_sz:
            if _SIZE_BYTES[op & 0x18] != res.orig_sz:
                raise CoreError(f"CO-RE relocation of {what}: insn {idx} accesses {_SIZE_BYTES[op & 0x18]} bytes, "
                                f"expected {res.orig_sz}")
            if res.new_sz not in _BYTES_SIZE:
                raise CoreError(f"CO-RE relocation of {what}: kernel field is {res.new_sz} bytes, not loadable")
            op = (op & ~0x18) | _BYTES_SIZE[res.new_sz]
        _SLOT.pack_into(code, idx * 8, op, regs, res.new_val, imm)
        return None
    if cls == _CLS_LD and op == 0x18:
        if regs >> 4 or off or idx * 8 + 16 > len(code) or code[idx * 8 + 8:idx * 8 + 12] != b"\0\0\0\0":
            raise CoreError(f"CO-RE relocation of {what}: insn {idx} is a 64-bit load of unexpected form")
        hi = _SLOT.unpack_from(code, idx * 8 + 8)[3]
        value = (imm & 0xFFFFFFFF) | ((hi & 0xFFFFFFFF) << 32)
        if res.validate and value != res.orig_val:
            raise CoreError(f"CO-RE relocation of {what}: insn {idx} holds {value}, expected {res.orig_val}")
        _SLOT.pack_into(code, idx * 8, op, regs, off, _s32(res.new_val))
        _SLOT.pack_into(code, idx * 8 + 8, 0, 0, 0, _s32(res.new_val >> 32))
        return None
    raise CoreError(f"CO-RE relocation of {what} is on an instruction it cannot patch (insn {idx}, opcode {op:#x})")


def _poison_at(code: bytearray, idx: int, op: int, why: str) -> str:
    if op == 0x18 and idx * 8 + 16 <= len(code):
        _poison(code, idx + 1)
    _poison(code, idx)
    return why


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def relocate_section(code: bytearray, relos: list[CoreRelo], local: BTF, target: BTF | CandidateCache,
                     section: str = "") -> dict[int, str]:
    """Apply every CO-RE relocation of one code section in place.

    Returns ``{insn: reason}`` for the instructions poisoned because the kernel
    lacks what they read; they only fail the load if the verifier reaches them
    (code guarded by ``bpf_core_field_exists`` never does)."""
    cands = target if isinstance(target, CandidateCache) else CandidateCache(target)
    poisoned: dict[int, str] = {}
    for relo in relos:
        what = f"{relo.kind.name.lower()} of {describe(local, relo)}"
        try:
            res = resolve(relo, local, cands)
        except CoreError as exc:
            raise CoreError(f"{section}: {exc}") from None
        why = patch_insn(code, relo.insn, res, what, missing_reason(local, relo, res) if res.poison else "")
        if why is not None:
            poisoned[relo.insn] = why
    return poisoned
