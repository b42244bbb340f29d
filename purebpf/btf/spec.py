"""``BTF``: a lazy, indexed reader of one BTF blob (vmlinux, a module's split BTF, an object's .BTF).

Opening vmlinux BTF (~130k types) records only where each type starts and a
sorted name index (cached on disk by checksum, see :mod:`purebpf.btf.index`);
a type becomes a dataclass only when asked for, and is then memoised.  Finding
``struct task_struct`` and the offset of ``pid`` decodes two types, not 130k.

    btf = BTF.load_kernel()
    btf.member_offset("task_struct", "pid")      # bytes from the start of the struct
    btf.member_offset("task_struct", "real_parent")
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from typing import TYPE_CHECKING

from purebpf.btf.index import TypeIndex, load_or_scan
from purebpf.btf.kinds import BTF_MAGIC, HEADER_SIZE, Kind
from purebpf.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from purebpf.btf.layout import Layout
    from purebpf.btf.types import Composite, Enum, Type

_HEADER = "HBBIIIII"  # magic, version, flags, hdr_len, type_off, type_len, str_off, str_len
_COMPOSITES = (Kind.STRUCT, Kind.UNION)


def _as_kind(kind: Kind | str | None) -> Kind | None:
    if kind is None or isinstance(kind, Kind):
        return kind
    try:
        return Kind[kind.upper()]
    except KeyError:
        raise InvalidInputError(f"unknown BTF kind {kind!r}; use one of {', '.join(k.name for k in Kind)}") from None


class BTF:
    """One BTF blob, optionally split on top of a ``base`` (module BTF on vmlinux)."""

    def __init__(self, data: bytes, base: BTF | None = None, name: str = "") -> None:
        self.name = name
        self.base = base
        self._data = data
        if len(data) < HEADER_SIZE:
            raise InvalidInputError(f"BTF {name or 'blob'} is {len(data)} bytes, shorter than its header")
        order = "<" if struct.unpack_from("<H", data)[0] == BTF_MAGIC else ">"
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
            order + _HEADER, data)
        if magic != BTF_MAGIC:
            raise InvalidInputError(f"{name or 'blob'} is not BTF (magic {magic:#06x}, want {BTF_MAGIC:#06x})")
        if version != 1:
            raise InvalidInputError(f"BTF {name or 'blob'} has version {version}; purebpf reads version 1")
        t_start, s_start = hdr_len + type_off, hdr_len + str_off
        if hdr_len < HEADER_SIZE or t_start + type_len > len(data) or s_start + str_len > len(data) \
                or type_len % 4:
            raise InvalidInputError(f"BTF {name or 'blob'} has sections outside its {len(data)} bytes: truncated?")
        self.byteorder = "little" if order == "<" else "big"
        self._str_start, self._str_len = s_start, str_len
        self._str_base = base._str_base + base._str_len if base else 0
        self.first_id = base.next_id if base else 1
        raw = memoryview(data)[t_start:t_start + type_len]
        if self.byteorder == sys.byteorder and t_start % 4 == 0:
            self._words = raw.cast("I")
        else:
            words = array("I", raw.tobytes())
            if self.byteorder != sys.byteorder:
                words.byteswap()
            self._words = words
        self._index: TypeIndex = load_or_scan(self._words, data)
        self.next_id = self.first_id + len(self._index)
        self._memo: dict[int, Type] = {}
        self._str_memo: dict[str, tuple[int, ...]] = {}
        self._pointer_size = 0
        self._layout: Layout | None = None

    # ---- construction ----------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, base: BTF | None = None, name: str = "") -> BTF:
        return cls(bytes(data), base, name)

    @classmethod
    def from_file(cls, path: str, base: BTF | None = None) -> BTF:
        """Raw BTF (``/sys/kernel/btf/*``) or the ``.BTF`` section of an ELF object."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise NotFoundError(f"BTF file {path} does not exist") from None
        if data[:4] == b"\x7fELF":
            data = _elf_btf_section(path)
        return cls(data, base, path)

    @classmethod
    def load_kernel(cls) -> BTF:
        """The running kernel's BTF, read once per process."""
        from purebpf.btf.kernel import load_kernel
        return load_kernel()

    # ---- ids, names, kinds (no decoding) -----------------------------------------------------

    def __len__(self) -> int:
        """Number of type ids, counting void (0) and any base types: ids run 0..len-1."""
        return self.next_id

    def __repr__(self) -> str:
        return f"BTF({self.name or 'blob'}, ids {self.first_id}..{self.next_id - 1})"

    def _offset(self, type_id: int) -> int:
        try:
            return self._index.offsets[type_id - self.first_id]
        except IndexError:
            raise NotFoundError(f"BTF type id {type_id} out of range 0..{self.next_id - 1}") from None

    def kind_of(self, type_id: int) -> Kind:
        if type_id == 0:
            return Kind.UNKN
        if type_id < self.first_id:
            return self.base.kind_of(type_id)
        return Kind((self._words[self._offset(type_id) + 1] >> 24) & 0x1F)

    def name_of(self, type_id: int) -> str:
        if type_id == 0:
            return "void"
        if type_id < self.first_id:
            return self.base.name_of(type_id)
        return self.string(self._words[self._offset(type_id)])

    def string(self, offset: int) -> str:
        """The string at ``offset`` of the (base + own) string section."""
        if offset < self._str_base:
            return self.base.string(offset)
        local = offset - self._str_base
        if local >= self._str_len:
            raise InvalidInputError(f"BTF string offset {offset} beyond the string section of {self!r}")
        start = self._str_start + local
        end = self._data.find(b"\0", start, self._str_start + self._str_len)
        if end < 0:
            raise InvalidInputError(f"BTF string at offset {offset} is not NUL-terminated")
        return self._data[start:end].decode("utf-8", "replace")

    def _string_offsets(self, name: str) -> tuple[int, ...]:
        """Every offset where ``name`` is stored (deduplicated BTF has one; others may have more)."""
        got = self._str_memo.get(name)
        if got is not None:
            return got
        found = list(self.base._string_offsets(name)) if self.base else []
        needle = b"\0" + name.encode() + b"\0"
        start, end = self._str_start, self._str_start + self._str_len
        if self._data.startswith(needle[1:], start):  # split BTF strings do not begin with the empty string
            found.append(self._str_base)
        pos = self._data.find(needle, start, end)
        while pos >= 0:
            found.append(pos + 1 - start + self._str_base)
            pos = self._data.find(needle, pos + 1, end)
        if len(self._str_memo) > 4096:
            self._str_memo.clear()
        got = self._str_memo[name] = tuple(found)
        return got

    def find_ids(self, name: str, kind: Kind | str | None = None) -> list[int]:
        """Ids of the types called ``name`` (optionally of one kind), base types first."""
        kind = _as_kind(kind)
        if not name:
            return []
        ids = self.base.find_ids(name, kind) if self.base else []
        offsets = self._string_offsets(name)
        for off in offsets:
            ids.extend(local + self.first_id for local in self._index.ids_named(off))
        if kind is not None:
            ids = [i for i in ids if self.kind_of(i) == kind]
        return ids

    def find(self, name: str, kind: Kind | str | None = None) -> list[Type]:
        """The types called ``name`` (``struct``/``typedef``/``func``... alike unless ``kind`` says)."""
        return [self.type_by_id(i) for i in self.find_ids(name, kind)]

    def ids(self, include_base: bool = True) -> range:
        """All type ids (except void), base ones too unless ``include_base`` is False."""
        return range(1 if include_base else self.first_id, self.next_id)

    def __iter__(self) -> Iterator[Type]:
        """Every type from id 1 on (base types included), decoded one at a time."""
        for i in self.ids():
            yield self.type_by_id(i)

    # ---- decoding ----------------------------------------------------------------------------

    def type_by_id(self, type_id: int) -> Type:
        got = self._memo.get(type_id)
        if got is not None:
            return got
        if type_id < self.first_id:
            if type_id == 0:
                from purebpf.btf.types import Void
                got = Void(0, "")
            elif type_id < 0:
                raise NotFoundError(f"BTF type id {type_id} out of range 0..{self.next_id - 1}")
            else:
                return self.base.type_by_id(type_id)
        else:
            from purebpf.btf.decode import decode
            got = decode(self, type_id, self._words, self._offset(type_id))
        self._memo[type_id] = got
        return got

    # ---- questions about types ---------------------------------------------------------------

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            from purebpf.btf.layout import Layout
            self._layout = Layout(self)
        return self._layout

    @property
    def pointer_size(self) -> int:
        """Size of ``long`` in this BTF (the target's pointer size); 8 when no ``long`` is described."""
        if not self._pointer_size:
            self._pointer_size = self._find_pointer_size()
        return self._pointer_size

    def _find_pointer_size(self) -> int:
        if self.base is not None:
            return self.base.pointer_size
        for name in ("long int", "long unsigned int"):
            for tid in self.find_ids(name, Kind.INT):
                return self._words[self._offset(tid) + 2]
        return 8

    def _one(self, name: str, kinds: tuple[Kind, ...], what: str) -> Type:
        """The complete type called ``name`` among ``kinds``; a forward declaration only as last resort."""
        found = [self.type_by_id(i) for i in self.find_ids(name) if self.kind_of(i) in kinds]
        if not found:
            raise NotFoundError(f"BTF of {self.name or 'this blob'} has no {what} named {name!r}")
        for t in found:
            if getattr(t, "members", None) or getattr(t, "values", None) or t.kind not in (*_COMPOSITES, Kind.ENUM):
                return t
        return found[0]

    def struct(self, name: str) -> Composite:
        """``struct name`` (``union name`` too when no struct has that name)."""
        return self._one(name, _COMPOSITES, "struct or union")

    def enum(self, name: str) -> Enum:
        return self._one(name, (Kind.ENUM, Kind.ENUM64), "enum")

    def enum_values(self, name: str) -> dict[str, int]:
        """``{enumerator: value}`` of enum ``name``, or of the anonymous enum defining enumerator ``name``."""
        found = [i for i in self.find_ids(name) if self.kind_of(i) in (Kind.ENUM, Kind.ENUM64)]
        if found:
            return {v.name: v.value for v in self.type_by_id(found[0]).values}
        for tid in self.ids():
            if self.kind_of(tid) in (Kind.ENUM, Kind.ENUM64) and not self.name_of(tid):
                t = self.type_by_id(tid)
                if any(v.name == name for v in t.values):
                    return {v.name: v.value for v in t.values}
        raise NotFoundError(f"BTF has no enum named {name!r} (nor an anonymous enum with that enumerator)")

    def _type_id(self, t: Type | int | str) -> int:
        if isinstance(t, int):
            return t
        if isinstance(t, str):
            for prefix, kinds in (("struct ", (Kind.STRUCT,)), ("union ", (Kind.UNION,)),
                                  ("enum ", (Kind.ENUM, Kind.ENUM64))):
                if t.startswith(prefix):
                    return self._one(t[len(prefix):].strip(), kinds, prefix.strip()).id
            return self._one(t, (*_COMPOSITES, Kind.TYPEDEF, Kind.ENUM, Kind.ENUM64, Kind.INT, Kind.FLOAT),
                             "type").id
        return t.id

    def resolve(self, t: Type | int | str) -> Type:
        """The type behind typedefs, const/volatile/restrict and type tags."""
        return self.layout.resolve(self._type_id(t))

    def sizeof(self, t: Type | int | str) -> int:
        return self.layout.sizeof(self._type_id(t))

    def alignof(self, t: Type | int | str) -> int:
        return self.layout.alignof(self._type_id(t))

    def member_bit_offset(self, t: Type | int | str, path: str) -> int:
        """Bit offset of member ``path`` (``"a.b[2].c"``, through anonymous structs/unions)."""
        return self.layout.member_path(self._type_id(t), path)[0]

    def member_offset(self, t: Type | int | str, path: str) -> int:
        """Byte offset of member ``path`` in ``t``; a bitfield is an error (ask member_bit_offset)."""
        bits, member = self.layout.member_path(self._type_id(t), path)
        if member.bitfield_size or bits % 8:
            raise InvalidInputError(f"member {path!r} is a bitfield at bit {bits}: use member_bit_offset")
        return bits // 8

    def member(self, t: Type | int | str, path: str):
        """The :class:`~purebpf.btf.types.Member` that ``path`` ends at."""
        return self.layout.member_path(self._type_id(t), path)[1]


def _elf_btf_section(path: str) -> bytes:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    try:
        with open(path, "rb") as f:
            section = ELFFile(f).get_section_by_name(".BTF")
            if section is None:
                raise NotFoundError(f"ELF file {path} has no .BTF section (compile with clang -g)")
            return section.data()
    except ELFError as exc:
        raise InvalidInputError(f"{path} is not a readable ELF file: {exc}") from None
