"""Turn one BTF type record (native-order 32-bit words) into its dataclass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from purebpf.btf import types as T
from purebpf.btf.kinds import Kind, Linkage
from purebpf.errors import InvalidInputError

if TYPE_CHECKING:
    from purebpf.btf.spec import BTF


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def decode(btf: BTF, type_id: int, w, o: int) -> T.Type:
    name_off, info, size_type = w[o], w[o + 1], w[o + 2]
    kind = (info >> 24) & 0x1F
    vlen = info & 0xFFFF
    kflag = bool(info >> 31)
    name = btf.string(name_off) if name_off else ""
    o += 3
    s = btf.string
    if kind == Kind.INT:
        v = w[o]
        return T.Int(type_id, name, size_type, (v >> 24) & 0x0F, v & 0xFF, (v >> 16) & 0xFF)
    if kind == Kind.PTR:
        return T.Pointer(type_id, name, size_type)
    if kind == Kind.ARRAY:
        return T.Array(type_id, name, w[o], w[o + 1], w[o + 2])
    if kind in (Kind.STRUCT, Kind.UNION):
        members = []
        for i in range(o, o + 3 * vlen, 3):
            off = w[i + 2]
            bits, off = (off >> 24, off & 0xFFFFFF) if kflag else (0, off)
            members.append(T.Member(s(w[i]) if w[i] else "", w[i + 1], off, bits))
        cls = T.Struct if kind == Kind.STRUCT else T.Union
        return cls(type_id, name, size_type, tuple(members))
    if kind == Kind.ENUM:
        conv = _s32 if kflag else int
        values = tuple(T.EnumValue(s(w[i]), conv(w[i + 1])) for i in range(o, o + 2 * vlen, 2))
        return T.Enum(type_id, name, size_type, kflag, values)
    if kind == Kind.ENUM64:
        values = []
        for i in range(o, o + 3 * vlen, 3):
            v = w[i + 1] | w[i + 2] << 32
            if kflag and v >> 63:
                v -= 1 << 64
            values.append(T.EnumValue(s(w[i]), v))
        return T.Enum64(type_id, name, size_type, kflag, tuple(values))
    if kind == Kind.FWD:
        return T.Fwd(type_id, name, kflag)
    if kind == Kind.TYPEDEF:
        return T.Typedef(type_id, name, size_type)
    if kind == Kind.VOLATILE:
        return T.Volatile(type_id, name, size_type)
    if kind == Kind.CONST:
        return T.Const(type_id, name, size_type)
    if kind == Kind.RESTRICT:
        return T.Restrict(type_id, name, size_type)
    if kind == Kind.TYPE_TAG:
        return T.TypeTag(type_id, name, size_type)
    if kind == Kind.FUNC:
        return T.Func(type_id, name, size_type, _linkage(vlen))
    if kind == Kind.FUNC_PROTO:
        params = tuple(T.Param(s(w[i]) if w[i] else "", w[i + 1]) for i in range(o, o + 2 * vlen, 2))
        return T.FuncProto(type_id, name, size_type, params)
    if kind == Kind.VAR:
        return T.Var(type_id, name, size_type, _linkage(w[o]))
    if kind == Kind.DATASEC:
        return T.Datasec(type_id, name, size_type,
                         tuple(T.VarSecinfo(w[i], w[i + 1], w[i + 2]) for i in range(o, o + 3 * vlen, 3)))
    if kind == Kind.FLOAT:
        return T.Float(type_id, name, size_type)
    if kind == Kind.DECL_TAG:
        return T.DeclTag(type_id, name, size_type, _s32(w[o]))
    raise InvalidInputError(f"BTF type #{type_id} has kind {kind} that purebpf cannot decode")


def _linkage(value: int) -> Linkage | int:
    try:
        return Linkage(value)
    except ValueError:
        return value
