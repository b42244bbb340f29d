"""The program's own ``struct``/``union`` definitions, laid out as a C
compiler would on x86_64 (natural alignment, SysV bitfields,
``__attribute__((packed))`` and ``aligned(N)``).

bpftrace hands these to clang; purebpf has no compiler at run time, so it
reads the subset programs use: integer, pointer, array and nested struct
members, bitfields, anonymous members.  Names of other types (``pid_t``,
``struct task_struct``) are looked up in the table, which falls back to BTF.
"""

from __future__ import annotations

import re

from purebpf.trace.structs import Layout, Member, StructTable, alignment, struct_type
from purebpf.trace.types import Array, Int, Ptr, Str, TType

_TOKEN = re.compile(r"\s+|/\*.*?\*/|//[^\n]*|([A-Za-z_]\w*|0[xX][0-9a-fA-F]+|\d+|\S)", re.S)
C_INTS = {
    "char": (1, True), "signed char": (1, True), "unsigned char": (1, False), "short": (2, True),
    "short int": (2, True), "unsigned short": (2, False), "unsigned short int": (2, False), "int": (4, True),
    "signed": (4, True), "signed int": (4, True), "unsigned": (4, False), "unsigned int": (4, False),
    "long": (8, True), "long int": (8, True), "unsigned long": (8, False), "unsigned long int": (8, False),
    "long long": (8, True), "long long int": (8, True), "unsigned long long": (8, False),
    "unsigned long long int": (8, False), "_Bool": (1, False), "bool": (1, False),
}
C_INTS.update({f"{p}int{n}_t": (n // 8, p == "") for p in ("", "u") for n in (8, 16, 32, 64)})
C_INTS.update({f"{p}int{n}": (n // 8, p == "") for p in ("", "u") for n in (8, 16, 32, 64)})
C_INTS.update({f"{p}{n}": (n // 8, p.endswith("s")) for p in ("s", "u", "__s", "__u") for n in (8, 16, 32, 64)})
_INT_WORDS = ("signed", "unsigned", "char", "short", "int", "long", "_Bool")
# bpftrace has no floating-point values: a float member keeps its place and size but reads as nothing
# (``none``: JSON null), as in bpftrace
_FLOATS = {"float": 4, "double": 8, "long double": 16}
_QUALIFIERS = ("const", "volatile", "restrict", "__restrict", "static", "extern")


class CDefinitionError(Exception):
    pass


class _Parser:
    def __init__(self, text: str, table: StructTable) -> None:
        self.toks = [m.group(1) for m in _TOKEN.finditer(text) if m.group(1)]
        self.i = 0
        self.table = table
        self.defined: list[str] = []
        self.outer = ""  # the top-level struct being defined

    def peek(self, k: int = 0) -> str:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ""

    def take(self) -> str:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        if self.take() != tok:
            raise CDefinitionError(f"expected '{tok}' in a struct definition")

    def skip_attributes(self) -> tuple[bool, int]:
        """``__attribute__((packed))`` / ``((aligned(N)))``: (packed, alignment or 0)."""
        packed, aligned = False, 0
        while self.peek() in ("__attribute__", "__attribute"):
            self.take()
            depth, words = 0, []
            while True:
                tok = self.take()
                if not tok:
                    raise CDefinitionError("unterminated __attribute__")
                depth += {"(": 1, ")": -1}.get(tok, 0)
                words.append(tok)
                if depth == 0:
                    break
            text = " ".join(words)
            packed = packed or "packed" in words or "__packed__" in words
            m = re.search(r"aligned\s*\(\s*(\d+)", text)
            if m:
                aligned = int(m.group(1))
        return packed, aligned

    # -- definitions ------------------------------------------------------------------

    def definitions(self) -> None:
        self._definitions()
        for key in self.defined:  # pointers to structs defined later (or to themselves) get their size
            layout = self.table.layouts[key]
            layout.members = [Member(m.name, self._completed(m.type), m.offset, m.bit_offset, m.bit_size)
                              for m in layout.members]

    def _completed(self, t: TType) -> TType:
        if t.kind == "pointer" and t.elems[0].kind == "struct" and t.elems[0].size == 0:
            return Ptr(self.table.find(t.elems[0].extra) or t.elems[0])
        return t

    def _definitions(self) -> None:
        while self.peek():
            if self.peek() in ("struct", "union") and (self.peek(2) == "{" or self.peek(1) == "{"):
                self.composite()
            elif self.peek() == "enum":  # enums are read by cdefs
                self.skip_to_end()
            else:
                self.skip_to_end()
            while self.peek() == ";":
                self.take()

    def skip_to_end(self) -> None:
        depth = 0
        while self.peek():
            tok = self.take()
            depth += {"{": 1, "}": -1}.get(tok, 0)
            if depth == 0 and tok in (";", "}"):
                return

    def composite(self) -> TType:
        union = self.take() == "union"
        name = self.take() if self.peek() != "{" else ""
        self.expect("{")
        key = name or f"#c{len(self.table.defined)}"  # anonymous: unique across all the program's definitions
        members: list[tuple[str, TType, int]] = []  # name, type, bitfield width
        outer = self.outer
        self.outer = outer or name
        try:
            while self.peek() != "}":
                if not self.peek():
                    raise CDefinitionError(f"missing '}}' in the definition of struct {name}")
                members.extend(self.member_declaration())
        finally:
            self.outer = outer
        self.take()
        packed, aligned = self.skip_attributes()
        layout = self.layout(key, members, union, packed, aligned)
        self.table.layouts[key] = layout
        self.table.defined.add(key)
        self.defined.append(key)
        return struct_type(key, layout.size)

    def _redefines_kernel_type(self) -> bool:
        """As in bpftrace, a program's own definition of a type kernel BTF has (``struct task_struct
        {...}``) stands alone: the kernel's types are not pulled in to complete its members."""
        return bool(self.outer) and self.outer not in self.table.defined and self.table.find(self.outer) is not None

    def member_declaration(self) -> list[tuple[str, TType, int]]:
        start = self.i
        base = self.base_type()
        # char arrays are strings, as in bpftrace (a char inside an inline struct's body does not count)
        is_char = base.kind == "int" and base.size == 1 and "char" in self.toks[start:self.i]
        out = []
        while True:
            t = base
            while self.peek() == "*":
                self.take()
                t = Ptr(t)
            name = ""
            if self.peek() not in (";", "}", ":", ",", "["):
                name = self.take()
            dims = []
            while self.peek() == "[":
                self.take()
                dims.append(int(self.take(), 0) if self.peek() != "]" else 0)
                self.expect("]")
            for depth, n in enumerate(reversed(dims)):
                t = Str(n) if is_char and t is base and depth == 0 else Array(t, n)
            width = 0
            if self.peek() == ":":
                self.take()
                width = int(self.take(), 0)
            self.skip_attributes()
            out.append((name, t, width))
            if self.peek() == ",":
                self.take()
                continue
            if self.peek() == ";":
                self.take()
            return out

    def base_type(self) -> TType:
        while self.peek() in _QUALIFIERS:
            self.take()
        tok = self.peek()
        if tok in ("struct", "union"):
            if self.peek(1) == "{" or self.peek(2) == "{":
                return self.composite()
            self.take()
            name = self.take()
            found = self.table.find(name)
            if found is None and self.peek() == "*":  # a pointer to a struct defined later (or this one)
                return struct_type(name, 0)
            if found is None or (name not in self.table.defined and self._redefines_kernel_type()):
                raise CDefinitionError(f"field has incomplete type '{tok} {name}'")
            return found
        if tok == "enum":
            self.take()
            if self.peek() not in ("{",):
                self.take()
            if self.peek() == "{":
                self.skip_braces()
            return Int(4, False)
        if tok in _INT_WORDS:
            words = []
            while self.peek() in _INT_WORDS:
                words.append(self.take())
            if words == ["long"] and self.peek() == "double":
                self.take()
                return float_type("long double")
            size, signed = C_INTS.get(" ".join(words), (4, "unsigned" not in words))
            return Int(size, signed)
        self.take()
        if tok in C_INTS:
            size, signed = C_INTS[tok]
            return Int(size, signed)
        if tok == "void":
            return TType("void", 0)
        if tok in _FLOATS:
            return float_type(tok)
        named = self.table.named_type(tok)
        if named is None:
            raise CDefinitionError(f"unknown type name '{tok}'")
        return named

    def skip_braces(self) -> None:
        depth = 0
        while self.peek():
            tok = self.take()
            depth += {"{": 1, "}": -1}.get(tok, 0)
            if depth == 0:
                return

    def layout(self, key: str, members: list[tuple[str, TType, int]], union: bool, packed: bool,
               aligned: int) -> Layout:
        out: list[Member] = []
        bits, size, max_align = 0, 0, 1
        for name, t, width in members:
            align = 1 if packed else alignment(t, self.table)
            max_align = max(max_align, align)
            if union:
                out.append(Member(name, t, 0, 0, width))
                size = max(size, t.size if not width else (width + 7) // 8)
                continue
            if width:
                unit_bits = max(t.size, 1) * 8
                if not packed and bits // unit_bits != (bits + width - 1) // unit_bits:
                    bits = (bits + unit_bits - 1) // unit_bits * unit_bits
                start = bits // unit_bits * (unit_bits // 8) if not packed else bits // 8
                out.append(Member(name, t, start, bits - start * 8, width))
                bits += width
                continue
            offset = (bits + 7) // 8
            offset = (offset + align - 1) // align * align
            out.append(Member(name, t, offset))
            bits = (offset + t.size) * 8
        if not union:
            size = (bits + 7) // 8
        if aligned:
            max_align = aligned if packed else max(max_align, aligned)
        size = (size + max_align - 1) // max_align * max_align
        return Layout(key, size, max_align, out, union=union)


def float_type(name: str) -> TType:
    return TType("none", _FLOATS[name], extra=name)


def parse_structs(texts: list[str], table: StructTable) -> None:
    """Add every struct/union defined in ``texts`` to ``table``; raises CDefinitionError."""
    for text in texts:
        _Parser(text, table).definitions()
