"""Make an object's ``.BTF`` acceptable to BTF_LOAD, as libbpf does before loading.

clang leaves every DATASEC's size and its variables' offsets at 0 (the linker
would fill them in; BPF objects are never linked), and marks ``__kconfig``
externs with extern linkage, which the kernel refuses.  The fix-ups patch the
raw blob in place: sizes from the ELF section headers, offsets from the symbol
table, externs turned into allocated globals at their place in the
``.kconfig`` map, and each DATASEC's variables sorted by offset as the kernel
requires.
"""

from __future__ import annotations

import struct

from purebpf.btf.kinds import WORDS_AFTER, Kind, Linkage
from purebpf.btf.spec import BTF
from purebpf.elf.reader import ElfFile
from purebpf.errors import InvalidInputError

_U32 = struct.Struct("<I")


class _Words:
    """The type section of a little-endian BTF blob as patchable 32-bit words."""

    def __init__(self, raw: bytearray) -> None:
        self.raw = raw
        hdr_len, type_off, type_len = struct.unpack_from("<III", raw, 4)
        self.base = hdr_len + type_off
        self.offsets = [0]  # word offset of each type id (id 0 is void)
        pos, end = 0, type_len // 4
        while pos < end:
            info = self[pos + 1]
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            fixed, per = WORDS_AFTER.get(kind, (None, None))
            if fixed is None:
                raise InvalidInputError(f".BTF has a type of unknown kind {kind}")
            self.offsets.append(pos)
            pos += 3 + fixed + per * vlen

    def __getitem__(self, word: int) -> int:
        return _U32.unpack_from(self.raw, self.base + 4 * word)[0]

    def __setitem__(self, word: int, value: int) -> None:
        _U32.pack_into(self.raw, self.base + 4 * word, value & 0xFFFFFFFF)


def fixup_object_btf(raw: bytes, btf: BTF, elf: ElfFile, kconfig_offsets: dict[str, int],
                     kconfig_size: int) -> bytes:
    """The object's BTF patched for loading (the input is not modified)."""
    if struct.unpack_from("<H", raw)[0] != 0xEB9F:
        raise InvalidInputError(f"{elf.path}: .BTF is not little-endian BTF")
    out = bytearray(raw)
    words = _Words(out)
    hidden = {s.name for s in elf.symbols if s.type == "FUNC" and s.visibility in ("HIDDEN", "INTERNAL")}
    for tid in btf.ids(include_base=False):
        kind = btf.kind_of(tid)
        if kind == Kind.DATASEC:
            _fix_datasec(words, btf, tid, elf, kconfig_offsets, kconfig_size)
        elif kind == Kind.FUNC:
            linkage = btf.type_by_id(tid).linkage
            if linkage == Linkage.EXTERN:
                # an extern (kfunc) declaration: the kernel only takes static/global; keep it global
                _set_vlen(words, tid, Linkage.GLOBAL)
            elif linkage == Linkage.GLOBAL and btf.name_of(tid) in hidden:
                # __hidden global functions are verified with their caller, as libbpf arranges
                _set_vlen(words, tid, Linkage.STATIC)
    return bytes(out)


def _set_vlen(words: _Words, tid: int, value: int) -> None:
    off = words.offsets[tid]
    words[off + 1] = (words[off + 1] & ~0xFFFF) | value


def _fix_datasec(words: _Words, btf: BTF, tid: int, elf: ElfFile, kconfig_offsets: dict[str, int],
                 kconfig_size: int) -> None:
    name = btf.name_of(tid)
    off = words.offsets[tid]
    vlen = words[off + 1] & 0xFFFF
    entries = [(words[off + 3 + 3 * i], words[off + 4 + 3 * i], words[off + 5 + 3 * i]) for i in range(vlen)]
    if name == ".kconfig":
        size = kconfig_size
        placed = []
        for vtype, _voff, vsize in entries:
            vname = btf.name_of(vtype)
            words[words.offsets[vtype] + 3] = Linkage.GLOBAL  # extern -> allocated global
            placed.append((vtype, kconfig_offsets.get(vname, 0), vsize))
        entries = placed
    else:
        sec = elf.section(name)
        if sec is None:
            if not entries:
                return
            raise InvalidInputError(f"{elf.path}: BTF describes section {name}, which the ELF file lacks "
                                    "(.ksyms externs are not supported yet)")
        size = sec.size
        symbols = {s.name: s for s in elf.symbols_in(sec.index) if s.type in ("OBJECT", "NOTYPE")}
        placed = []
        for vtype, voff, vsize in entries:
            if btf.kind_of(vtype) == Kind.VAR:
                sym = symbols.get(btf.name_of(vtype))
                if sym is not None:
                    voff = sym.value
                    if sym.visibility in ("HIDDEN", "INTERNAL"):
                        words[words.offsets[vtype] + 3] = Linkage.STATIC
            placed.append((vtype, voff, vsize))
        entries = placed
    words[off + 2] = size
    for i, (vtype, voff, vsize) in enumerate(sorted(entries, key=lambda e: e[1])):
        words[off + 3 + 3 * i] = vtype
        words[off + 4 + 3 * i] = voff
        words[off + 5 + 3 * i] = vsize
