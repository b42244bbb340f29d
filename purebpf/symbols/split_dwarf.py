"""The DIEs of split DWARF files (``-gsplit-dwarf``): ``.dwo`` files and ``.dwp`` packages.

Read here rather than by pyelftools (0.33), which reads neither: a DWARF 5 split unit has no
``DW_AT_str_offsets_base`` (its string offsets start right after the table's header), a GNU
DWARF 4 one uses ``DW_FORM_GNU_str_index``, and the units of a package each use their own slice
of the abbreviation and string offset sections, found in its ``.debug_cu_index`` and
``.debug_tu_index``.

Only what purebpf.symbols.dwarf reads is decoded: each DIE's tag, its attributes (named and
valued as pyelftools names and values them: strings as bytes, references relative to their
unit) and its children, so the same code reads types, functions and parameters from both.
References to type units (``DW_FORM_ref_sig8``), and to the stubs that stand for such types in a
compile unit, are turned into references to the type's DIE in its type unit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from elftools.dwarf.enums import ENUM_DW_AT, ENUM_DW_FORM, ENUM_DW_TAG

_TAGS = {code: name for name, code in ENUM_DW_TAG.items() if isinstance(code, int)}
_ATTRS = {code: name for name, code in ENUM_DW_AT.items() if isinstance(code, int)}
_FORMS = {code: name for name, code in ENUM_DW_FORM.items() if isinstance(code, int)}

# column ids of a package index: the same numbers in GNU's version 2 and in DWARF 5's version 5
_SECT_INFO, _SECT_TYPES, _SECT_ABBREV, _SECT_STR_OFFSETS = 1, 2, 3, 6
_SECTION_SHIFT = 36  # DIE offsets are keyed (ELF section index << 36) + offset: a .dwo may hold several
# .debug_info.dwo sections (gcc puts each type unit in its own), each numbered from 0
_REF_LOCAL = {0x11, 0x12, 0x13, 0x14, 0x15}  # ref1, ref2, ref4, ref8, ref_udata
_DW_UT_TYPE, _DW_UT_SKELETON, _DW_UT_SPLIT_COMPILE, _DW_UT_SPLIT_TYPE = 2, 4, 5, 6
_STRX = {0x1a, 0x25, 0x26, 0x27, 0x28, 0x1f02}   # strx, strx1-4, GNU_str_index
_FIXED = {0x0b: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8, 0x0c: 1, 0x20: 8,
          0x29: 1, 0x2a: 2, 0x2b: 3, 0x2c: 4, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x1c: 4, 0x24: 8}
_ULEB_FORMS = {0x0f, 0x15, 0x1a, 0x1b, 0x22, 0x23, 0x1f01, 0x1f02}  # udata, ref_udata, strx, addrx, ...x
_OFFSET_FORMS = {0x10, 0x0e, 0x17, 0x1f, 0x1d, 0x1f20, 0x1f21}  # ref_addr, strp, sec_offset, line_strp, ...
_BLOCKS = {0x0a: 1, 0x03: 2, 0x04: 4}  # block1/2/4: length bytes first


@dataclass(frozen=True)
class Attribute:
    form: str
    value: object


@dataclass(eq=False)
class Unit:
    cu_offset: int              # where the unit's header starts (DIE references are relative to it)
    version: int
    offset_size: int
    signature: int | None = None  # a type unit's type signature
    type_offset: int = 0
    top: int = 0                # the offset of its top DIE
    dies: dict[int, Die] = field(default_factory=dict, repr=False)  # every DIE of the file, by offset

    def get_top_DIE(self) -> Die:  # noqa: N802 - pyelftools' name, which purebpf.symbols.dwarf calls
        return self.dies[self.top]


@dataclass(eq=False)
class Die:
    tag: str
    offset: int
    attributes: dict[str, Attribute]
    cu: Unit = field(repr=False)
    children: list[Die] = field(default_factory=list, repr=False)

    @property
    def has_children(self) -> bool:
        return bool(self.children)

    def iter_children(self):
        return iter(self.children)

    def get_DIE_from_attribute(self, name: str) -> Die:  # noqa: N802 - pyelftools' name
        a = self.attributes[name]
        offset = a.value if a.form == "DW_FORM_ref_addr" else self.cu.cu_offset + a.value
        return self.cu.dies[offset]


@dataclass
class _Contribution:
    """One unit's (or, in a plain .dwo, every unit's) part of each section."""
    section: int            # the ELF section index of its .debug_info.dwo or .debug_types.dwo
    types: bool = False     # in .debug_types.dwo (DWARF 4 type units)
    info: tuple[int, int] | None = None  # offset and size; None: the whole section
    abbrev: int = 0
    str_offsets: int = 0


def split_units(path: str) -> list[Die]:
    """The top DIEs of every unit in the ``.dwo`` or ``.dwp`` file ``path`` (type units too);
    raises OSError for an unreadable file, ValueError for one that is not split DWARF."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    sections: dict[str, bytes] = {}
    units: dict[int, tuple[str, bytes]] = {}  # section index -> (name, data) of each unit section
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            for index, section in enumerate(elf.iter_sections()):
                if section["sh_type"] == "SHT_NOBITS":
                    continue
                if section.name in (".debug_info.dwo", ".debug_types.dwo"):
                    units[index] = (section.name, section.data())  # decompressed when SHF_COMPRESSED
                elif section.name in (".debug_abbrev.dwo", ".debug_str.dwo", ".debug_str_offsets.dwo",
                                      ".debug_cu_index", ".debug_tu_index"):
                    sections.setdefault(section.name, section.data())
            little = elf.little_endian
    except ELFError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not units:
        raise ValueError(f"{path} has no .debug_info.dwo section: not split DWARF")
    try:
        return _read_units(_FileReader(sections, units, "<" if little else ">"))
    except (KeyError, IndexError, struct.error) as exc:  # an unknown abbreviation code, data cut short
        raise ValueError(f"{path}: malformed split DWARF ({type(exc).__name__}: {exc})") from None


def _read_units(reader: _FileReader) -> list[Die]:
    sections, units = reader.sections, reader.unit_sections
    if ".debug_cu_index" in sections:  # a package: each unit where its index row says
        first = {name: index for index, (name, _) in reversed(units.items())}
        for name in (".debug_cu_index", ".debug_tu_index"):
            for row in _index_rows(sections.get(name, b""), reader.endian):
                types = _SECT_TYPES in row
                section = first.get(".debug_types.dwo" if types else ".debug_info.dwo")
                if section is not None:
                    reader.read(_Contribution(
                        section, types, row.get(_SECT_TYPES if types else _SECT_INFO),
                        row.get(_SECT_ABBREV, (0, 0))[0], row.get(_SECT_STR_OFFSETS, (0, 0))[0]))
    else:
        for index, (name, _) in units.items():
            reader.read(_Contribution(index, name == ".debug_types.dwo"))
    reader.resolve_references()
    return [unit.get_top_DIE() for unit in reader.units if unit.top in reader.dies]


def _index_rows(data: bytes, e: str) -> list[dict[int, tuple[int, int]]]:
    """The rows of a package index (``.debug_cu_index``/``.debug_tu_index``), each a section id to
    the unit's (offset, size) in that section. The hash table of signatures before them is not
    needed: every row is read."""
    if len(data) < 16:
        return []
    version = struct.unpack_from(e + "I", data, 0)[0]
    if version != 2 and struct.unpack_from(e + "H", data, 0)[0] != 5:
        raise ValueError(f"package index version {version} is not 2 (GNU) or 5 (DWARF 5)")
    columns, units, slots = struct.unpack_from(e + "III", data, 4)
    at = 16 + slots * 12  # after the signatures (8 bytes each) and their row numbers (4 bytes each)
    ids = struct.unpack_from(f"{e}{columns}I", data, at)
    offsets = struct.unpack_from(f"{e}{units * columns}I", data, at + 4 * columns)
    sizes = struct.unpack_from(f"{e}{units * columns}I", data, at + 4 * columns + 4 * units * columns)
    return [{ids[c]: (offsets[r * columns + c], sizes[r * columns + c]) for c in range(columns)}
            for r in range(units)]


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _sleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (result - (1 << shift) if byte & 0x40 else result), pos


def _cstring(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.index(b"\0", pos)
    return data[pos:end], end + 1


class _FileReader:
    """The units of one file, read contribution by contribution into one offset-keyed DIE map."""

    def __init__(self, sections: dict[str, bytes], units: dict[int, tuple[str, bytes]], endian: str):
        self.sections, self.unit_sections, self.endian = sections, units, endian
        self.units: list[Unit] = []
        self.dies: dict[int, Die] = {}
        self._abbrevs: dict[int, dict[int, tuple[str, bool, list]]] = {}
        self._refs: list[tuple[Die, str]] = []  # reference attributes, resolved once every unit is read

    def read(self, part: _Contribution) -> None:
        data = self.unit_sections[part.section][1]
        start, size = part.info if part.info is not None else (0, len(data))
        pos, end = start, min(start + size, len(data))
        while pos + 11 <= end:
            pos = self._unit(data, pos, part)

    def _unit(self, data: bytes, pos: int, part: _Contribution) -> int:
        e, start = self.endian, pos
        length, offset_size = struct.unpack_from(e + "I", data, pos)[0], 4
        pos += 4
        if length == 0xFFFFFFFF:
            length, offset_size = struct.unpack_from(e + "Q", data, pos)[0], 8
            pos += 8
        end = pos + length
        off = e + ("I" if offset_size == 4 else "Q")
        version = struct.unpack_from(e + "H", data, pos)[0]
        pos += 2
        signature, type_offset = None, 0
        if version >= 5:
            unit_type = data[pos]
            pos += 2  # unit type, address size
            abbrev = struct.unpack_from(off, data, pos)[0]
            pos += offset_size
            if unit_type in (_DW_UT_SKELETON, _DW_UT_SPLIT_COMPILE):
                pos += 8  # dwo_id
            elif unit_type in (_DW_UT_TYPE, _DW_UT_SPLIT_TYPE):
                signature = struct.unpack_from(e + "Q", data, pos)[0]
                type_offset = struct.unpack_from(off, data, pos + 8)[0]
                pos += 8 + offset_size
        elif version in (2, 3, 4):
            abbrev = struct.unpack_from(off, data, pos)[0]
            pos += offset_size + 1  # abbrev offset, address size
            if part.types:
                signature = struct.unpack_from(e + "Q", data, pos)[0]
                type_offset = struct.unpack_from(off, data, pos + 8)[0]
                pos += 8 + offset_size
        else:
            raise ValueError(f"DWARF version {version} unit at {start:#x}")
        bias = part.section << _SECTION_SHIFT
        unit = Unit(bias + start, version, offset_size, signature, type_offset, dies=self.dies)
        # DWARF 5 split units have no DW_AT_str_offsets_base: the table starts after its header
        str_base = part.str_offsets + ((8 if offset_size == 4 else 16) if version >= 5 else 0)
        self._dies(data, pos, end, unit, self._abbrev_table(part.abbrev + abbrev), str_base, bias)
        self.units.append(unit)
        return end

    def _abbrev_table(self, offset: int) -> dict[int, tuple[str, bool, list]]:
        if offset in self._abbrevs:
            return self._abbrevs[offset]
        data = self.sections.get(".debug_abbrev.dwo")
        if data is None:
            raise ValueError("no .debug_abbrev.dwo section")
        table, pos = {}, offset
        while True:
            code, pos = _uleb(data, pos)
            if code == 0:
                break
            tag, pos = _uleb(data, pos)
            children = data[pos] != 0
            pos += 1
            specs = []
            while True:
                name, pos = _uleb(data, pos)
                form, pos = _uleb(data, pos)
                implicit = None
                if form == 0x21:  # implicit_const: the value is here, not in the DIE
                    implicit, pos = _sleb(data, pos)
                if name == 0 and form == 0:
                    break
                specs.append((_ATTRS.get(name, f"DW_AT_{name:#x}"), form, implicit))
            table[code] = (_TAGS.get(tag, f"DW_TAG_{tag:#x}"), children, specs)
        self._abbrevs[offset] = table
        return table

    def _dies(self, data: bytes, pos: int, end: int, unit: Unit, abbrevs: dict, str_base: int, bias: int) -> None:
        parents: list[Die] = []
        first = True
        while pos < end:
            offset = pos
            code, pos = _uleb(data, pos)
            if code == 0:
                if parents:
                    parents.pop()
                if not parents:
                    break  # the top DIE's children are read: the rest is padding
                continue
            tag, children, specs = abbrevs[code]
            die = Die(tag, bias + offset, {}, unit)
            for name, form, implicit in specs:
                value, pos, form = self._value(data, pos, form, unit, str_base, bias)
                if form == 0x21:
                    value = implicit
                elif form in _REF_LOCAL or form in (0x10, 0x20):
                    self._refs.append((die, name))
                die.attributes[name] = Attribute(_FORMS.get(form, f"DW_FORM_{form:#x}"), value)
            self.dies[die.offset] = die
            if first:
                unit.top, first = die.offset, False
            elif parents:
                parents[-1].children.append(die)
            if children:
                parents.append(die)
            elif not parents:
                break  # a top DIE without children

    def _value(self, data: bytes, pos: int, form: int, unit: Unit, str_base: int, bias: int):
        """One attribute value: (value, next position, form code, with DW_FORM_indirect resolved)."""
        e = self.endian
        while form == 0x16:  # indirect: the form comes first
            form, pos = _uleb(data, pos)
        if form in _FIXED:
            size = _FIXED[form]
            value = int.from_bytes(data[pos:pos + size], "little" if e == "<" else "big")
            pos += size
        elif form in _ULEB_FORMS:
            value, pos = _uleb(data, pos)
        elif form in _OFFSET_FORMS:
            value = int.from_bytes(data[pos:pos + unit.offset_size], "little" if e == "<" else "big")
            pos += unit.offset_size
        elif form == 0x01:  # addr: 8 bytes on the 64-bit targets split DWARF is built for
            value = struct.unpack_from(e + "Q", data, pos)[0]
            pos += 8
        elif form == 0x0d:
            value, pos = _sleb(data, pos)
        elif form == 0x08:
            value, pos = _cstring(data, pos)
        elif form in (0x18, 0x09):  # exprloc, block: uleb length
            size, pos = _uleb(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif form in _BLOCKS:
            size = int.from_bytes(data[pos:pos + _BLOCKS[form]], "little" if e == "<" else "big")
            pos += _BLOCKS[form]
            value, pos = data[pos:pos + size], pos + size
        elif form == 0x1e:  # data16
            value, pos = data[pos:pos + 16], pos + 16
        elif form in (0x19, 0x21):  # flag_present, implicit_const: nothing in the DIE
            value = True
        else:
            raise ValueError(f"unknown DWARF form {form:#x}")
        if form in _STRX:
            value = self._indexed_string(value, unit, str_base)
        elif form == 0x0e:  # strp: into this file's .debug_str.dwo
            value = _cstring(self.sections.get(".debug_str.dwo", b""), value)[0]
        elif form == 0x0c:
            value = value != 0
        elif form == 0x10:  # ref_addr: a section offset, kept apart as the DIEs' offsets are
            value += bias
        return value, pos, form

    def _indexed_string(self, index: int, unit: Unit, str_base: int) -> bytes:
        offsets, strings = self.sections.get(".debug_str_offsets.dwo"), self.sections.get(".debug_str.dwo")
        if offsets is None or strings is None:
            raise ValueError("an indexed string without .debug_str_offsets.dwo or .debug_str.dwo")
        at = str_base + index * unit.offset_size
        offset = int.from_bytes(offsets[at:at + unit.offset_size], "little" if self.endian == "<" else "big")
        return _cstring(strings, offset)[0]

    def resolve_references(self) -> None:
        """``DW_FORM_ref_sig8`` attributes become references to their type unit's type DIE, and references
        to a type's stub (a DIE whose ``DW_AT_signature`` names its type unit) references to the type
        itself; both left as they are when this file lacks that type unit."""
        types = {u.signature: u.cu_offset + u.type_offset for u in self.units if u.signature is not None}
        stubs: dict[int, int] = {}
        for die, name in self._refs:
            a = die.attributes[name]
            if a.form == "DW_FORM_ref_sig8" and a.value in types:
                die.attributes[name] = Attribute("DW_FORM_ref_addr", types[a.value])
                if name == "DW_AT_signature":
                    stubs[die.offset] = types[a.value]
        for die, name in self._refs:
            a = die.attributes[name]
            if a.form == "DW_FORM_ref_sig8" or name == "DW_AT_signature":
                continue
            target = a.value if a.form == "DW_FORM_ref_addr" else die.cu.cu_offset + a.value
            if target in stubs:
                die.attributes[name] = Attribute("DW_FORM_ref_addr", stubs[target])
