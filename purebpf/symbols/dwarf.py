"""DWARF of user-space programs: function parameters and their C types, struct
layouts, the line table and inlined-call ranges, read with pyelftools.

The debug information of a binary is looked for where debuggers look: in the
binary itself, through its ``.gnu_debuglink`` (beside the binary, in ``.debug/``
beside it, under ``/usr/lib/debug`` and in each extra directory the caller
names, a relative one tried from the current directory and from the binary's),
and, for split DWARF (``-gsplit-dwarf``), in the ``.dwo`` files its skeleton
units name or the ``BINARY.dwp`` package beside it.

Everything is read once per file version and cached: a program with uprobes on
one binary pays for it once, and nothing here is imported by programs without
uprobes (pyelftools costs ~20 ms to import).
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from functools import lru_cache

DEBUG_ROOT = "/usr/lib/debug"
# DIE tags that are types, by the kind the tracer cares about
_TYPE_TAGS = {
    "DW_TAG_base_type": "base", "DW_TAG_pointer_type": "pointer", "DW_TAG_reference_type": "pointer",
    "DW_TAG_rvalue_reference_type": "pointer", "DW_TAG_structure_type": "struct", "DW_TAG_class_type": "struct",
    "DW_TAG_union_type": "union", "DW_TAG_array_type": "array", "DW_TAG_enumeration_type": "enum",
    "DW_TAG_typedef": "typedef", "DW_TAG_const_type": "const", "DW_TAG_volatile_type": "volatile",
    "DW_TAG_restrict_type": "restrict", "DW_TAG_atomic_type": "atomic", "DW_TAG_subroutine_type": "func",
    "DW_TAG_unspecified_type": "void",
}
_QUALIFIERS = ("typedef", "const", "volatile", "restrict", "atomic")
_DW_ATE_SIGNED = (0x05, 0x06, 0x0d)  # signed, signed_char, signed_fixed
_DW_ATE_CHAR = (0x06, 0x08)          # signed_char, unsigned_char
_DW_ATE_BOOL = 0x02
_DW_ATE_FLOAT = (0x04, 0x03)         # float, complex_float


@dataclass(frozen=True)
class Field:
    name: str          # "" for an anonymous struct/union member
    type: int          # type id (a key of DebugInfo.types)
    offset: int        # bytes from the start of the struct (a bitfield: of its storage unit)
    bit_offset: int = 0
    bit_size: int = 0  # 0: not a bitfield


@dataclass(frozen=True)
class CType:
    """One DWARF type DIE; ``target`` is the type it qualifies, points to or holds (a type id, None: void)."""
    kind: str          # base, pointer, struct, union, array, enum, typedef, const, volatile, ..., func, void
    name: str = ""
    size: int = 0
    signed: bool = False
    char: bool = False
    boolean: bool = False
    floating: bool = False
    target: int | None = None
    count: int = 0     # array elements (0: unknown or flexible)
    members: tuple[Field, ...] = ()
    declaration: bool = False  # a forward declaration (no members)


@dataclass(frozen=True)
class Parameter:
    name: str
    type: int | None


@dataclass(frozen=True)
class Function:
    name: str
    address: int       # entry point (0 when the DIE gives none)
    params: tuple[Parameter, ...]


@dataclass(frozen=True)
class Frame:
    """One frame of a symbolized return address: ``func`` is None for the outermost (the caller fills in
    the ELF symbol and offset), a name for a call inlined there."""
    func: str | None
    file: str
    line: int


@dataclass
class DebugInfo:
    """The DWARF of one binary, as the tracer uses it."""
    path: str                                   # the file the DWARF was read from
    types: dict[int, CType] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    structs: dict[str, int] = field(default_factory=dict)  # "struct Foo"/"union U"/"enum E" -> type id
    rows: list[tuple[int, str, int]] = field(default_factory=list)  # (address, file, line), by address
    inlines: list[tuple[int, int, int, str, str, int]] = field(default_factory=list)
    # (low, high, depth, name, call file, call line): each range of an inlined call, by low address

    def resolve(self, type_id: int | None) -> CType | None:
        """The type without typedefs and qualifiers (None: void)."""
        seen = 0
        while type_id is not None and seen < 64:
            t = self.types.get(type_id)
            if t is None or t.kind not in _QUALIFIERS:
                return t
            type_id, seen = t.target, seen + 1
        return None

    def struct(self, name: str) -> int | None:
        """The type id of ``struct name`` (or ``union name``), a complete definition when there is one."""
        for key in (name,) if " " in name else (f"struct {name}", f"union {name}"):
            if key in self.structs:
                return self.structs[key]
        return None

    def type_name(self, type_id: int | None) -> str:
        """A type as bpftrace prints it in listings: ``int``, ``struct Foo*``, ``const char*``."""
        t = self.types.get(type_id) if type_id is not None else None
        if t is None:
            return "void"
        if t.kind == "pointer":
            return self.type_name(t.target) + "*"
        if t.kind in ("const", "volatile", "restrict", "atomic"):
            return f"{t.kind if t.kind != 'atomic' else '_Atomic'} {self.type_name(t.target)}"
        if t.kind == "array":
            return f"{self.type_name(t.target)}[{t.count}]"
        if t.kind in ("struct", "union", "enum"):
            return f"{t.kind} {t.name}" if t.name else f"{t.kind} <anon>"
        if t.kind == "func":
            return "void (*)()" if not t.name else t.name
        return t.name or "void"

    # -- lines ------------------------------------------------------------------------------

    def line_addresses(self, file: str, line: int) -> list[int]:
        """The addresses where statements of ``file:line`` start (``file`` a path or its last parts)."""
        out = []
        prev: tuple[str, int] | None = None
        for address, path, row_line in self.rows:
            here = (path, row_line)
            if row_line == line and _same_file(path, file) and here != prev:
                out.append(address)
            prev = here
        return sorted(set(out))

    def source_line(self, address: int) -> tuple[str, int] | None:
        i = bisect.bisect_right(self.rows, (address, "\uffff", 1 << 62)) - 1
        if i < 0:
            return None
        _, path, line = self.rows[i]
        return (path, line) if line else None

    def frames(self, address: int) -> list[Frame]:
        """The source frames at ``address``, innermost first: inlined calls (``func`` set) then the
        enclosing function's line (``func`` None)."""
        here = self.source_line(address)
        if here is None:
            return []
        chain = sorted((c for c in self.inlines if c[0] <= address < c[1]), key=lambda c: c[2])
        frames = []
        file, line = here
        for _low, _high, _depth, name, call_file, call_line in reversed(chain):
            frames.append(Frame(name, file, line))
            file, line = call_file, call_line
        frames.append(Frame(None, file, line))
        return frames


def _same_file(path: str, wanted: str) -> bool:
    return path == wanted or path.endswith("/" + wanted.lstrip("./")) or os.path.basename(path) == wanted


# -- finding the debug information ---------------------------------------------------------

def debug_info(path: str, search: tuple[str, ...] = ()) -> DebugInfo | None:
    """The DWARF of binary ``path`` (None when there is none to be found); ``search`` are extra
    directories for separate debug files (``--debuginfo``)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _debug_info(os.path.abspath(path), st.st_ino, st.st_mtime_ns, tuple(search), os.getcwd())


@lru_cache(maxsize=16)
def _debug_info(path: str, _ino: int, _mtime_ns: int, search: tuple[str, ...], cwd: str) -> DebugInfo | None:
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if _has_dwarf(elf):
                return _read(elf, path, path)
            link = _debuglink(elf)
        for candidate in _debug_file_candidates(path, link, search, cwd) if link else ():
            with open(candidate, "rb") as f:
                elf = ELFFile(f)
                if _has_dwarf(elf):
                    return _read(elf, candidate, path)
    except (OSError, ELFError, DWARFError, ValueError, KeyError, AssertionError):
        return None
    return None


def _has_dwarf(elf) -> bool:
    section = elf.get_section_by_name(".debug_info") or elf.get_section_by_name(".zdebug_info")
    return section is not None and section["sh_type"] != "SHT_NOBITS"


def _debuglink(elf) -> str | None:
    section = elf.get_section_by_name(".gnu_debuglink")
    if section is None:
        return None
    data = section.data()
    return data[:data.index(b"\0")].decode(errors="replace") if b"\0" in data else None


def _debug_file_candidates(path: str, link: str, search: tuple[str, ...], cwd: str) -> list[str]:
    here = os.path.dirname(path)
    dirs = [here, os.path.join(here, ".debug"), DEBUG_ROOT + here]
    for extra in search:
        dirs.append(extra if os.path.isabs(extra) else os.path.join(cwd, extra))
        if not os.path.isabs(extra):  # a relative --debuginfo DIR: also from the binary's directory
            dirs.append(os.path.join(here, extra))
    out = []
    for d in dirs:
        candidate = os.path.join(d, link)
        if os.path.isfile(candidate) and os.path.abspath(candidate) != path and candidate not in out:
            out.append(candidate)
    return out


# -- reading ------------------------------------------------------------------------------

def _read(elf, path: str, binary: str) -> DebugInfo:
    """``binary`` is the program itself, beside which split DWARF packages are (``path`` may be its
    separate debug file)."""
    dwarf = elf.get_dwarf_info(follow_links=False)
    info = DebugInfo(path)
    split: list[str] = []
    for cu in dwarf.iter_CUs():
        top = cu.get_top_DIE()
        _read_lines(dwarf, cu, info)
        if top.tag == "DW_TAG_skeleton_unit" or (top.tag == "DW_TAG_compile_unit" and _attr(top, "DW_AT_GNU_dwo_name")
                                                 and not top.has_children):
            found = _split_file(binary, top)
            if found is not None and found not in split:
                split.append(found)
            continue
        _read_unit(top, info, 0)
    _read_split(split, info)
    info.rows.sort()
    info.inlines.sort()
    return info


def _attr(die, name: str, default=None):
    a = die.attributes.get(name)
    return a.value if a is not None else default


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def _read_lines(dwarf, cu, info: DebugInfo) -> None:
    program = dwarf.line_program_for_CU(cu)
    if program is None:
        return
    version = program.header.version
    dirs = [_text(d) for d in program.header.include_directory]
    files = []
    for entry in program.header.file_entry:
        name = _text(entry.name)
        index = entry.dir_index if version >= 5 else entry.dir_index - 1
        if version < 5 and entry.dir_index == 0:
            base = _text(_attr(cu.get_top_DIE(), "DW_AT_comp_dir", b""))
        else:
            base = dirs[index] if 0 <= index < len(dirs) else ""
        if version >= 5 and index > 0 and not os.path.isabs(base) and dirs:
            base = os.path.join(dirs[0], base)
        files.append(name if os.path.isabs(name) else os.path.normpath(os.path.join(base, name)))
    first = 0 if version >= 5 else 1
    for entry in program.get_entries():
        state = entry.state
        if state is None or state.end_sequence:
            if state is not None:
                info.rows.append((state.address, "", 0))
            continue
        index = state.file - first
        if 0 <= index < len(files):
            info.rows.append((state.address, files[index], state.line))


def _read_unit(top, info: DebugInfo, base: int, inlines: bool = True) -> None:
    """Types, functions and inlined calls of one unit (``base`` keys its types apart from other files')."""
    stack = [(top, 0)]
    while stack:
        die, depth = stack.pop()
        tag = die.tag
        if tag in _TYPE_TAGS:
            _read_type(die, info, base)
        elif tag == "DW_TAG_subprogram":
            _read_function(die, info, base)
        elif tag == "DW_TAG_inlined_subroutine" and inlines:
            _read_inline(die, info, depth)
        if die.has_children and tag not in ("DW_TAG_enumeration_type",):
            inner = depth + 1 if tag == "DW_TAG_inlined_subroutine" else depth
            stack.extend((child, inner) for child in die.iter_children())


def _ref(die, name: str, base: int) -> int | None:
    a = die.attributes.get(name)
    if a is None:
        return None
    if a.form in ("DW_FORM_ref_addr", "DW_FORM_GNU_ref_alt", "DW_FORM_ref_sig8", "DW_FORM_ref_sup4",
                  "DW_FORM_ref_sup8"):
        return base + a.value if a.form == "DW_FORM_ref_addr" else None
    return base + a.value + die.cu.cu_offset


def _read_type(die, info: DebugInfo, base: int) -> None:
    kind = _TYPE_TAGS[die.tag]
    name = _text(_attr(die, "DW_AT_name", b""))
    size = _attr(die, "DW_AT_byte_size", 0) or 0
    target = _ref(die, "DW_AT_type", base)
    declaration = bool(_attr(die, "DW_AT_declaration", False))
    key = base + die.offset
    if kind == "base":
        encoding = _attr(die, "DW_AT_encoding", 0)
        t = CType(kind, name, size, encoding in _DW_ATE_SIGNED, encoding in _DW_ATE_CHAR or "char" in name,
                  encoding == _DW_ATE_BOOL, encoding in _DW_ATE_FLOAT)
    elif kind == "pointer":
        t = CType(kind, "", size or 8, target=target)
    elif kind in ("struct", "union"):
        members = tuple(_member(m, base) for m in die.iter_children() if m.tag == "DW_TAG_member")
        t = CType(kind, name, size, members=members, declaration=declaration)
        if name:
            known = info.structs.get(f"{kind} {name}")
            if known is None or (info.types[known].declaration and not declaration):
                info.structs[f"{kind} {name}"] = key
    elif kind == "enum":
        signed = any((_attr(e, "DW_AT_const_value", 0) or 0) < 0 for e in die.iter_children())
        t = CType(kind, name, size or 4, signed, target=target)
        if name:
            info.structs.setdefault(f"enum {name}", key)
    elif kind == "array":
        counts = []
        for sub in die.iter_children():
            if sub.tag == "DW_TAG_subrange_type":
                count = _attr(sub, "DW_AT_count")
                if count is None:
                    upper = _attr(sub, "DW_AT_upper_bound")
                    count = upper + 1 if isinstance(upper, int) else 0
                counts.append(count if isinstance(count, int) else 0)
        # int a[2][3]: an array of 2 arrays of 3 (inner dimensions get synthetic ids next to this one)
        for i, count in enumerate(reversed(counts[1:] or [])):
            inner = -(key * 8 + i + 1)
            info.types[inner] = CType("array", "", 0, target=target, count=count)
            target = inner
        t = CType(kind, "", 0, target=target, count=counts[0] if counts else 0)
    else:
        t = CType(kind, name, size, target=target)
    info.types[key] = t


def _member(die, base: int) -> Field:
    offset = _attr(die, "DW_AT_data_member_location", 0)
    offset = offset if isinstance(offset, int) else 0
    bit_size = _attr(die, "DW_AT_bit_size", 0) or 0
    bit_offset = 0
    if bit_size:
        size = _attr(die, "DW_AT_byte_size", 0) or 0
        data_bit = _attr(die, "DW_AT_data_bit_offset")
        if data_bit is None and size:  # DWARF 2-3 big-endian-style numbering, converted
            data_bit = offset * 8 + size * 8 - (_attr(die, "DW_AT_bit_offset", 0) or 0) - bit_size
        data_bit = data_bit or 0
        unit = size or 4
        offset = data_bit // (unit * 8) * unit
        bit_offset = data_bit - offset * 8
    return Field(_text(_attr(die, "DW_AT_name", b"")), _ref(die, "DW_AT_type", base) or 0, offset, bit_offset,
                 bit_size)


def _low_pc(die) -> int:
    a = die.attributes.get("DW_AT_low_pc")
    if a is None or a.form in ("DW_FORM_addrx", "DW_FORM_GNU_addr_index", "DW_FORM_addrx1", "DW_FORM_addrx2",
                               "DW_FORM_addrx4"):
        return 0
    return a.value


def _read_function(die, info: DebugInfo, base: int) -> None:
    if _attr(die, "DW_AT_declaration") or "DW_AT_abstract_origin" in die.attributes:
        return
    name = _text(_attr(die, "DW_AT_name", b""))
    if not name:
        spec = die.get_DIE_from_attribute("DW_AT_specification") if "DW_AT_specification" in die.attributes \
            else None
        name = _text(_attr(spec, "DW_AT_name", b"")) if spec is not None else ""
    if not name:
        return
    params = tuple(Parameter(_text(_attr(p, "DW_AT_name", b"")), _ref(p, "DW_AT_type", base))
                   for p in die.iter_children() if p.tag == "DW_TAG_formal_parameter")
    known = info.functions.get(name)
    if known is None or (not known.params and params):
        info.functions[name] = Function(name, _low_pc(die), params)


def _read_inline(die, info: DebugInfo, depth: int) -> None:
    try:
        origin = die.get_DIE_from_attribute("DW_AT_abstract_origin")
    except (KeyError, AttributeError):
        return
    name = _text(_attr(origin, "DW_AT_name", b""))
    if not name and "DW_AT_specification" in origin.attributes:
        name = _text(_attr(origin.get_DIE_from_attribute("DW_AT_specification"), "DW_AT_name", b""))
    call_file, call_line = _call_site(die)
    for low, high in _ranges(die):
        info.inlines.append((low, high, depth, name, call_file, call_line))


def _call_site(die) -> tuple[str, int]:
    index = _attr(die, "DW_AT_call_file", 0)
    line = _attr(die, "DW_AT_call_line", 0) or 0
    program = die.dwarfinfo.line_program_for_CU(die.cu)
    if program is None:
        return "", line
    entries = program.header.file_entry
    version = program.header.version
    i = index if version >= 5 else index - 1
    if not 0 <= i < len(entries):
        return "", line
    entry = entries[i]
    name = _text(entry.name)
    dirs = program.header.include_directory
    d = entry.dir_index if version >= 5 else entry.dir_index - 1
    base = _text(dirs[d]) if 0 <= d < len(dirs) else _text(_attr(die.cu.get_top_DIE(), "DW_AT_comp_dir", b""))
    return (name if os.path.isabs(name) else os.path.normpath(os.path.join(base, name))), line


def _ranges(die) -> list[tuple[int, int]]:
    low = die.attributes.get("DW_AT_low_pc")
    high = die.attributes.get("DW_AT_high_pc")
    if low is not None and high is not None and low.form == "DW_FORM_addr":
        end = high.value if high.form == "DW_FORM_addr" else low.value + high.value
        return [(low.value, end)]
    if "DW_AT_ranges" not in die.attributes:
        return []
    from elftools.dwarf.ranges import BaseAddressEntry, RangeEntry

    lists = die.dwarfinfo.range_lists()
    if lists is None:
        return []
    cu_base = _low_pc(die.cu.get_top_DIE())
    try:
        entries = lists.get_range_list_at_offset(die.attributes["DW_AT_ranges"].value, cu=die.cu)
    except Exception:  # noqa: BLE001 - a malformed range list loses this inlined frame, nothing else
        return []
    out = []
    for entry in entries:
        if isinstance(entry, BaseAddressEntry):
            cu_base = entry.base_address
        elif isinstance(entry, RangeEntry):
            if entry.is_absolute:
                out.append((entry.begin_offset, entry.end_offset))
            else:
                out.append((cu_base + entry.begin_offset, cu_base + entry.end_offset))
    return out


# -- split DWARF ------------------------------------------------------------------------------

def _split_file(binary: str, skeleton) -> str | None:
    """Where a skeleton unit's DIEs are: its ``.dwo`` (named relative to its compilation directory,
    then beside the binary), else the ``BINARY.dwp`` package beside the binary."""
    name = _text(_attr(skeleton, "DW_AT_dwo_name") or _attr(skeleton, "DW_AT_GNU_dwo_name", b""))
    comp_dir = _text(_attr(skeleton, "DW_AT_comp_dir", b""))
    candidates = [os.path.join(comp_dir, name), os.path.join(os.path.dirname(binary), os.path.basename(name))] \
        if name else []
    for candidate in [*candidates, binary + ".dwp"]:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None


def _read_split(files: list[str], info: DebugInfo) -> None:
    """The types and functions of the split units, from their ``.dwo`` files or ``.dwp`` packages (the
    line table stays in the binary, read already). Inlined calls are not read from them: their
    addresses are indexes into the binary's ``.debug_addr``. A file that cannot be read loses its
    units' types and parameters, nothing else."""
    from purebpf.symbols.split_dwarf import split_units

    for i, path in enumerate(files):
        try:
            tops = split_units(path)
        except (OSError, ValueError):
            continue
        for top in tops:
            _read_unit(top, info, (i + 1) << 40, inlines=False)  # type ids apart from the binary's own
