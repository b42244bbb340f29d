"""Turns bpftrace source into tokens.

The parser drives the lexer: attach points (``uprobe:/bin/bash:readline``)
are not made of ordinary tokens, so the parser asks for them explicitly with
:meth:`Lexer.attach_point` at the head of a probe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from purebpf.trace.location import Location

OPERATORS = sorted("""
<<= >>= -> ++ -- += -= *= /= %= &= |= ^= == != <= >= && || << >> :: .. ?:
+ - * / % & | ^ ! ~ < > = ? : . , ; ( ) [ ] { }
""".split(), key=len, reverse=True)

_INT = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*(?:[eE][0-9]+)?")
_INT_SUFFIX = re.compile(r"(?:[uU]?(?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU])(?![A-Za-z0-9_])")
# duration literals (``100ms``) are integers in nanoseconds
DURATION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
               "h": 3_600_000_000_000, "d": 86_400_000_000_000}
_DURATION = re.compile(r"(?:ns|us|ms|s|m|h|d)(?![A-Za-z0-9_])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}


@dataclass(slots=True)
class Token:
    kind: str   # "int", "string", "ident", "var", "map", "param", "op", "eof"
    text: str   # the source text (operators, names with their sigil)
    loc: Location
    value: object = None  # int value, decoded string, parameter index


class LexError(Exception):
    def __init__(self, message: str, loc: Location) -> None:
        super().__init__(message)
        self.loc = loc


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0

    # -- position bookkeeping -----------------------------------------------------

    def _col(self, pos: int) -> int:
        return pos - self.line_start + 1

    def _advance(self, n: int) -> None:
        chunk = self.text[self.pos:self.pos + n]
        newlines = chunk.count("\n")
        if newlines:
            self.line += newlines
            self.line_start = self.pos + chunk.rindex("\n") + 1
        self.pos += n

    def _loc(self, start: int, start_line: int, start_col: int) -> Location:
        end = self._col(self.pos) if self.line == start_line else start_col + 1
        return Location(start_line, start_col, max(end, start_col + 1))

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t\r\n\f\v":
                self._advance(1)
            elif text.startswith("//", self.pos):
                nl = text.find("\n", self.pos)
                self._advance((nl if nl >= 0 else len(text)) - self.pos)
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise LexError("unterminated comment", Location(self.line, self._col(self.pos),
                                                                     self._col(self.pos) + 2))
                self._advance(end + 2 - self.pos)
            else:
                return

    def peek_char(self) -> str:
        """The next significant character (after spaces and comments), or ''."""
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    # -- attach points ------------------------------------------------------------

    def attach_point(self) -> tuple[str, Location] | None:
        """Read one attach point: everything up to whitespace, ',' or '{',
        with double-quoted parts kept whole (``uprobe:"/a b/c":f``)."""
        self.skip_space()
        start, line, col = self.pos, self.line, self._col(self.pos)
        text, out = self.text, []
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t\r\n,{}":
                break
            if c == '"':  # \" and \\ inside stand for " and \ (a USDT probe named "probe1", quotes included)
                end = self.pos + 1
                while end < len(text) and text[end] != '"':
                    if text[end] == "\\" and end + 1 < len(text) and text[end + 1] in '"\\':
                        end += 1
                    out.append(text[end])
                    end += 1
                if end >= len(text):
                    raise LexError("unterminated string", Location(line, col, col + 1))
                self._advance(end + 1 - self.pos)
                continue
            if text.startswith("//", self.pos) or text.startswith("/*", self.pos):
                break
            out.append(c)
            self._advance(1)
        if self.pos == start:
            return None
        return "".join(out), self._loc(start, line, col)

    # -- ordinary tokens ----------------------------------------------------------

    def next(self) -> Token:
        self.skip_space()
        text = self.text
        start, line, col = self.pos, self.line, self._col(self.pos)
        if self.pos >= len(text):
            return Token("eof", "", Location(line, col, col + 1))
        c = text[self.pos]

        def done(kind: str, value: object = None) -> Token:
            return Token(kind, text[start:self.pos], self._loc(start, line, col), value)

        if c.isdigit():
            m = _INT.match(text, self.pos)
            raw = m.group(0).replace("_", "")
            self._advance(m.end() - self.pos)
            value = _int_value(raw, Location(line, col, self._col(self.pos)))
            unit = _DURATION.match(text, self.pos)
            if unit:
                self._advance(unit.end() - self.pos)
                return done("int", value * DURATION_NS[unit.group(0)])
            suffix = _INT_SUFFIX.match(text, self.pos)
            if suffix and suffix.group(0):
                self._advance(suffix.end() - self.pos)
            return done("int", value)
        if c == '"':
            return done("string", self._string(line, col))
        if c == "$":
            m = _IDENT.match(text, self.pos + 1)
            if m:
                self._advance(m.end() - self.pos)
                return done("var", text[start:self.pos])
            m = re.compile(r"[0-9]+").match(text, self.pos + 1)
            if m:
                self._advance(m.end() - self.pos)
                return done("param", int(m.group(0)))
            if text.startswith("$#", self.pos):
                self._advance(2)
                return done("param", 0)
            raise LexError("invalid character '$'", Location(line, col, col + 1))
        if c == "@":
            m = _IDENT.match(text, self.pos + 1)
            self._advance((m.end() if m else self.pos + 1) - self.pos)
            return done("map")
        m = _IDENT.match(text, self.pos)
        if m:
            self._advance(m.end() - self.pos)
            return done("ident")
        for op in OPERATORS:
            if text.startswith(op, self.pos):
                self._advance(len(op))
                return done("op")
        raise LexError(f"invalid character '{c}'", Location(line, col, col + 1))

    def _string(self, line: int, col: int) -> str:
        text, out = self.text, []
        self._advance(1)
        while True:
            if self.pos >= len(text) or (text[self.pos] == "\n" and '"' not in text[self.pos:]):
                eol = text.find("\n", self.line_start)
                end = (eol if eol >= 0 else len(text)) - self.line_start + 1
                raise LexError("unterminated string", Location(line, col, max(end, col + 1)))
            c = text[self.pos]
            if c == '"':
                self._advance(1)
                return "".join(out)
            if c != "\\":
                out.append(c)
                self._advance(1)
                continue
            nxt = text[self.pos + 1:self.pos + 2]
            if nxt == "x":
                m = re.compile(r"[0-9a-fA-F]{1,2}").match(text, self.pos + 2)
                if not m:
                    raise LexError("invalid escape sequence '\\x'", Location(self.line, self._col(self.pos),
                                                                              self._col(self.pos) + 2))
                out.append(chr(int(m.group(0), 16)))
                self._advance(m.end() - self.pos)
            elif nxt.isdigit() and nxt in "01234567":
                m = re.compile(r"[0-7]{1,3}").match(text, self.pos + 1)
                out.append(chr(int(m.group(0), 8)))
                self._advance(m.end() - self.pos)
            elif nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                self._advance(2)
            else:
                raise LexError(f"invalid escape sequence '\\{nxt}'",
                               Location(self.line, self._col(self.pos), self._col(self.pos) + 2))


def _int_value(raw: str, loc: Location) -> int:
    try:
        return _parse_int(raw.lower())
    except ValueError:
        raise LexError("Found trailing non-numeric characters", loc) from None


def _parse_int(low: str) -> int:
    if low.startswith("0x"):
        return int(low[2:], 16)
    if low.startswith("0b"):
        return int(low[2:], 2)
    if "e" in low:
        base, exp = low.split("e")
        return int(base) * 10 ** int(exp)
    if len(low) > 1 and low.startswith("0"):
        return int(low, 8)
    return int(low)
