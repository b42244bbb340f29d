"""The parts of a program's C definitions purebpf trace understands: enums.

``enum Foo { ONE = 1, TWO, OTHER = 99999 };`` makes ``ONE`` an integer of
type ``enum Foo`` that prints as its name.  Struct definitions are kept as
text (they matter only to casts, which report them as unsupported).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from purebpf.trace import ast

_ENUM = re.compile(r"enum\s*([A-Za-z_]\w*)?\s*\{([^}]*)\}", re.S)
_DEFINE = re.compile(r"#define\s+([A-Za-z_]\w*)\s+(.+)")


@dataclass
class CDefs:
    enum_values: dict[str, tuple[int, str]] = field(default_factory=dict)   # name -> (value, enum name)
    enums: dict[str, dict[int, str]] = field(default_factory=dict)          # enum name -> value -> name
    defines: dict[str, str] = field(default_factory=dict)


def _int(text: str, known: dict[str, tuple[int, str]]) -> int:
    text = text.strip()
    if text in known:
        return known[text][0]
    return int(text.rstrip("uUlL"), 0)


def parse_cdefs(defs: list[ast.CDefinition]) -> CDefs:
    out = CDefs()
    anon = 0
    for d in defs:
        m = _DEFINE.match(d.text.strip())
        if m:
            out.defines[m.group(1)] = m.group(2).strip()
            continue
        for m in _ENUM.finditer(d.text):
            name = m.group(1)
            if not name:
                anon += 1
                name = f"anon_enum_{anon}"
            values: dict[int, str] = {}
            nxt = 0
            for item in m.group(2).split(","):
                item = item.strip()
                if not item:
                    continue
                key, eq, val = item.partition("=")
                key = key.strip()
                try:
                    value = _int(val, out.enum_values) if eq else nxt
                except ValueError:
                    continue
                out.enum_values[key] = (value, name)
                values.setdefault(value, key)
                nxt = value + 1
            out.enums[name] = values
    return out
