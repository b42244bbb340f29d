"""``.BTF.ext``: per-section func_info, line_info and CO-RE relocation records.

In the object file every record's ``insn_off`` is a byte offset into its
section; here it becomes an instruction index (``insn``), the unit the kernel
and the linker work in.  Names (section names, file names, source lines, CO-RE
access strings) are offsets into the ``.BTF`` string table, so the parser takes
a ``string_at`` function.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from purebpf.btf.core import CoreRelo, CoreReloKind
from purebpf.errors import InvalidInputError

BTF_EXT_MAGIC = 0xEB9F
_HEADER = struct.Struct("<HBBI")
_U32 = struct.Struct("<I")
FUNC_INFO_SIZE = 8
LINE_INFO_SIZE = 16
CORE_RELO_SIZE = 16


@dataclass(frozen=True, slots=True)
class FuncInfo:
    insn: int
    type_id: int


@dataclass(frozen=True, slots=True)
class LineInfo:
    insn: int
    file_name_off: int
    line_off: int
    line_col: int     # line << 10 | column

    @property
    def line(self) -> int:
        return self.line_col >> 10

    @property
    def column(self) -> int:
        return self.line_col & 0x3FF


@dataclass
class BTFExt:
    """Records per ELF section name."""
    func_info: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_info: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relos: dict[str, list[CoreRelo]] = field(default_factory=dict)


def parse_btf_ext(data: bytes, string_at: Callable[[int], str]) -> BTFExt:
    if len(data) < 8:
        raise InvalidInputError(".BTF.ext is truncated (shorter than its header)")
    magic, version, _flags, hdr_len = _HEADER.unpack_from(data)
    if magic != BTF_EXT_MAGIC:
        raise InvalidInputError(f".BTF.ext has bad magic {magic:#x} (expected {BTF_EXT_MAGIC:#x}; big-endian object?)")
    if version != 1:
        raise InvalidInputError(f".BTF.ext version {version} is not supported (expected 1)")
    if hdr_len < 24 or hdr_len > len(data):
        raise InvalidInputError(f".BTF.ext header length {hdr_len} is invalid")
    words = [_U32.unpack_from(data, off)[0] for off in range(8, hdr_len - hdr_len % 4, 4)]
    ext = BTFExt()
    body = data[hdr_len:]

    def blocks(idx: int, min_size: int, what: str):
        if len(words) < idx + 2 or words[idx + 1] == 0:
            return
        off, length = words[idx], words[idx + 1]
        if off + length > len(body):
            raise InvalidInputError(f".BTF.ext {what} runs past the end of the section")
        yield from _info_blocks(body[off:off + length], min_size, what, string_at)

    for sec, size, recs in blocks(0, FUNC_INFO_SIZE, "func_info"):
        ext.func_info[sec] = [FuncInfo(r[0] // 8, r[1]) for r in _records(recs, size, "<II")]
    for sec, size, recs in blocks(2, LINE_INFO_SIZE, "line_info"):
        ext.line_info[sec] = [LineInfo(r[0] // 8, r[1], r[2], r[3]) for r in _records(recs, size, "<IIII")]
    for sec, size, recs in blocks(4, CORE_RELO_SIZE, "core_relo"):
        ext.core_relos[sec] = [
            CoreRelo(r[0] // 8, r[1], string_at(r[2]), CoreReloKind(r[3]))
            for r in _records(recs, size, "<IIII")]
    return ext


def _info_blocks(data: bytes, min_size: int, what: str, string_at: Callable[[int], str]):
    """Yield (section name, record size, raw records) for each section's block."""
    if len(data) < 4:
        raise InvalidInputError(f".BTF.ext {what} is truncated")
    rec_size = _U32.unpack_from(data)[0]
    if rec_size < min_size or rec_size % 4:
        raise InvalidInputError(f".BTF.ext {what} record size {rec_size} is invalid")
    pos = 4
    while pos < len(data):
        if pos + 8 > len(data):
            raise InvalidInputError(f".BTF.ext {what} is truncated")
        name_off, count = struct.unpack_from("<II", data, pos)
        pos += 8
        end = pos + count * rec_size
        if end > len(data):
            raise InvalidInputError(f".BTF.ext {what} of section #{name_off} runs past its block")
        yield string_at(name_off), rec_size, data[pos:end]
        pos = end


def _records(raw: bytes, rec_size: int, fmt: str) -> list[tuple[int, ...]]:
    s = struct.Struct(fmt)
    return [s.unpack_from(raw, off) for off in range(0, len(raw), rec_size)]
