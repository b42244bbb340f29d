"""Enums and ``#define`` constants from a program's C definitions.

``enum Foo { ONE = 1, TWO, OTHER = 99999 };`` makes ``ONE`` an integer of
type ``enum Foo`` that prints as its name.  Struct and union definitions are
laid out by :mod:`purebpf.trace.cstructs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from purebpf.trace import ast

_ENUM = re.compile(r"enum\s*([A-Za-z_]\w*)?\s*\{([^}]*)\}", re.S)
_DEFINE = re.compile(r"#define\s+([A-Za-z_]\w*)\s+(.+)")
_INCLUDE = re.compile(r"#include\s*[<\"]([^>\"]+)[>\"]")


def _errno_defines() -> dict[str, str]:
    import errno

    return {name: str(code) for code, name in errno.errorcode.items()}


def _syscall_defines() -> dict[str, str]:
    """``__NR_name`` (the kernel's spelling) and ``SYS_name`` (glibc's) for this machine's system calls."""
    from purebpf.sys.syscalls import syscall_names

    out = {}
    for nr, name in syscall_names().items():
        out[f"__NR_{name}"] = out[f"SYS_{name}"] = str(nr)
    return out


# system headers whose constants purebpf trace knows without reading C headers (none are read at run time)
KNOWN_HEADERS = {"errno.h": _errno_defines, "asm-generic/errno.h": _errno_defines,
                 "asm-generic/errno-base.h": _errno_defines, "linux/errno.h": _errno_defines,
                 "syscall.h": _syscall_defines, "sys/syscall.h": _syscall_defines, "asm/unistd.h": _syscall_defines,
                 "asm/unistd_64.h": _syscall_defines, "linux/unistd.h": _syscall_defines}


def header_defines(header: str) -> dict[str, str]:
    """The ``#define``s of a known system header (empty for others)."""
    make = KNOWN_HEADERS.get(header.strip())
    return make() if make else {}


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


def parse_cdefs(defs: list[ast.CDefinition], includes: tuple[str, ...] = ()) -> CDefs:
    """``includes``: headers named with ``--include``, as if ``#include``d first."""
    out = CDefs()
    for header in includes:
        out.defines.update(header_defines(header))
    anon = 0
    for d in defs:
        m = _INCLUDE.match(d.text.strip())
        if m:
            out.defines.update(header_defines(m.group(1)))
            continue
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


INCLUDE_DIRS = ("/usr/local/include", "/usr/include", "/usr/include/x86_64-linux-gnu")
_INCLUDE_LINE = re.compile(r'#include\s*([<"])([^>"]+)[>"]')


def missing_include(defs: list[ast.CDefinition]) -> str | None:
    """The first ``#include`` no header exists for, reported as bpftrace reports it (bpftrace
    gathers the program's C definitions into a ``definitions.h`` for clang; the message names
    its line and column).  The headers themselves are not read: BTF gives the kernel's types."""
    import os

    line = 1
    for d in defs:
        m = _INCLUDE_LINE.match(d.text.strip())
        if not m:
            continue
        line += 1
        quoted, path = m.group(1) == '"', m.group(2)
        dirs = (("",) if quoted else ()) + INCLUDE_DIRS
        if not any(os.path.exists(os.path.join(base, path)) for base in dirs):
            return f"definitions.h:{line}:{m.start(1) + 1}: fatal error: '{path}' file not found"
    return None
