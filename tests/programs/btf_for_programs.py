"""Hand-encoded BTF for one function, with func_info and line_info records,
so tests can load a program carrying source lines without a compiler."""

from __future__ import annotations

import struct

BTF_MAGIC = 0xEB9F
KIND_INT, KIND_FUNC, KIND_FUNC_PROTO = 1, 12, 13
FUNC_INFO_REC = struct.Struct("<II")        # insn_off, type_id
LINE_INFO_REC = struct.Struct("<IIII")      # insn_off, file_name_off, line_off, line_col


class Strings:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")

    def add(self, text: str) -> int:
        off = len(self.data)
        self.data += text.encode() + b"\0"
        return off


def function_btf(func_name: str, file_name: str, lines: list[tuple[int, str, int]]):
    """BTF for ``int func_name(void)``, plus func_info and line_info for
    ``lines`` = [(insn_off, source text, line number)]."""
    strings = Strings()
    int_name, fn_name = strings.add("int"), strings.add(func_name)
    types = struct.pack("<IIII", int_name, KIND_INT << 24, 4, (1 << 24) | 32)          # [1] int
    types += struct.pack("<III", 0, KIND_FUNC_PROTO << 24, 1)                         # [2] int (void)
    types += struct.pack("<III", fn_name, (KIND_FUNC << 24) | 1, 2)                   # [3] global func
    file_off = strings.add(file_name)
    line_info = b"".join(LINE_INFO_REC.pack(insn, file_off, strings.add(text), (line << 10) | 1)
                         for insn, text, line in lines)
    header = struct.pack("<HBBIIIII", BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(strings.data))
    blob = header + types + bytes(strings.data)
    return blob, FUNC_INFO_REC.pack(0, 3), line_info
