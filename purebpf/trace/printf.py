"""bpftrace's ``printf`` format strings, rendered in user space.

The BPF side sends raw argument values; this module parses the format once
(at compile time, so a bad format is a compile error) and renders each event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# %[flags][width][.precision][length]conversion, C style
_SPEC = re.compile(r"%([-+ #0]*)(\d+|\*)?(?:\.(\d+))?(hh|h|ll|l|z|j|t)?(r[xh]|gr|[diouxXcspr%])")
# bits an integer conversion reads, by length modifier, as C's printf does (none: an int)
_LENGTH_BITS = {"": 32, "hh": 8, "h": 16, "l": 64, "ll": 64, "z": 64, "j": 64, "t": 64}
INT_CONVERSIONS = frozenset("diouxXcp")


@dataclass(frozen=True)
class Conversion:
    flags: str
    width: str
    precision: str | None
    conv: str
    length: str = ""

    def render(self, value: object) -> str:
        spec = "%" + self.flags + self.width + (f".{self.precision}" if self.precision is not None else "")
        conv = self.conv
        if conv == "s":
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            return (spec + "s") % text
        if conv == "c":
            return (spec + "c") % chr(int(value) & 0xFF)
        if conv == "p":
            return (spec + "s") % f"0x{int(value) & 0xFFFFFFFFFFFFFFFF:x}"
        if conv in ("rx", "rh"):
            data = value if isinstance(value, bytes) else str(value).encode()
            text = "".join(f"\\x{b:02x}" for b in data) if conv == "rx" else " ".join(f"{b:02x}" for b in data)
            return (spec + "s") % text
        if conv == "gr":
            from purebpf.trace.gfp import gfp_text

            return (spec + "s") % gfp_text(int(value) & 0xFFFFFFFF)
        if conv == "r":
            data = value if isinstance(value, bytes) else str(value).encode()
            return (spec + "s") % "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in data)
        bits = _LENGTH_BITS[self.length]
        number = int(value) & ((1 << bits) - 1)
        if conv in "di" and number >= 1 << (bits - 1):
            number -= 1 << bits
        return (spec + ("d" if conv in "iu" else conv)) % number


@dataclass(frozen=True)
class Format:
    """A parsed format: literal text pieces between conversions."""
    pieces: tuple[str, ...]          # len(conversions) + 1 literal pieces
    conversions: tuple[Conversion, ...]

    def render(self, args: list[object]) -> str:
        out = [self.pieces[0]]
        for conv, arg, piece in zip(self.conversions, args, self.pieces[1:], strict=False):
            out.append(conv.render(arg))
            out.append(piece)
        return "".join(out)


class FormatError(ValueError):
    pass


def parse_format(fmt: str) -> Format:
    pieces: list[str] = []
    convs: list[Conversion] = []
    pos, literal = 0, []
    for m in _SPEC.finditer(fmt):
        literal.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, precision, length, conv = m.groups()
        if conv == "%":
            literal.append("%")
            continue
        if width == "*":
            raise FormatError("'*' widths are not supported in printf")
        pieces.append("".join(literal))
        literal = []
        convs.append(Conversion(flags, width or "", precision, conv, length or ""))
    rest = fmt[pos:]
    if "%" in rest.replace("%%", ""):
        bad = rest[rest.index("%"):][:4]
        raise FormatError(f"invalid format specifier '{bad}'")
    literal.append(rest)
    pieces.append("".join(literal))
    return Format(tuple(pieces), tuple(convs))
