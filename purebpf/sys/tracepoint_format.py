"""Fields of a tracepoint's record, read from tracefs ``events/CAT/NAME/format``.

A tracepoint program's context is this record; ``args->field`` in bpftrace and
hand-written programs read fields at these offsets.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple

from purebpf.errors import NotFoundError
from purebpf.sys.fs import tracefs, tracefs_root

_FIELD = re.compile(r"field:(?P<decl>[^;]+);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d)")


class TracepointField(namedtuple("TracepointField", "name c_type offset size signed data_loc")):
    """One field of a tracepoint record.  ``c_type`` is the declaration without
    the name (``const char *``, ``char[16]``); ``data_loc`` marks ``__data_loc``
    fields, a u32 (len << 16 | offset) to a variable-size array.

    A named tuple, not a dataclass: every tool reads these at start-up, and
    ``dataclasses`` (with ``inspect``) costs ~5 ms to import."""

    __slots__ = ()

    @property
    def is_pointer(self) -> bool:
        return self.c_type.rstrip().endswith("*")

    @property
    def int_type(self) -> tuple[int, bool]:
        """(width in bytes, signed) of an integer field, from its C type when it
        is a well-known one: syscall records store ``int dfd`` in 8 bytes, but
        the value is an int."""
        base = " ".join(w for w in self.c_type.replace("const", "").split() if w != "volatile")
        known = _C_INTS.get(base)
        if known is None or known[0] > self.size:
            return self.size, self.signed
        return known

    @property
    def array_len(self) -> int | None:
        m = re.search(r"\[(\d+)\]$", self.c_type)
        return int(m.group(1)) if m else None


_C_INTS = {
    "char": (1, True), "signed char": (1, True), "unsigned char": (1, False), "short": (2, True),
    "unsigned short": (2, False), "int": (4, True), "unsigned int": (4, False), "unsigned": (4, False),
    "long": (8, True), "unsigned long": (8, False), "long long": (8, True), "unsigned long long": (8, False),
    "bool": (1, False), "_Bool": (1, False), "pid_t": (4, True), "uid_t": (4, False), "gid_t": (4, False),
    "umode_t": (2, False), "size_t": (8, False), "ssize_t": (8, True), "loff_t": (8, True),
    "key_serial_t": (4, True), "clockid_t": (4, True), "timer_t": (4, True), "qid_t": (4, False),
    **{f"{p}{n}": (n // 8, p in ("s", "__s")) for p in ("u", "s", "__u", "__s") for n in (8, 16, 32, 64)},
    **{f"{p}int{n}_t": (n // 8, p == "") for p in ("", "u") for n in (8, 16, 32, 64)},
}


def parse_format(text: str) -> list[TracepointField]:
    fields = []
    for m in _FIELD.finditer(text):
        decl = m.group("decl").strip()
        data_loc = decl.startswith("__data_loc")
        if data_loc:
            decl = decl[len("__data_loc"):].strip()
        name_m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?$", decl)
        if not name_m:
            continue
        name, dims = name_m.group(1), name_m.group(2) or ""
        c_type = (decl[: name_m.start()].strip() + dims).strip()
        fields.append(TracepointField(name, c_type, int(m.group("off")), int(m.group("size")),
                                      m.group("signed") == "1", data_loc))
    return fields


def tracepoint_fields(category: str, name: str, *, include_common: bool = False) -> list[TracepointField]:
    """The record fields of ``category:name`` (without ``common_*`` unless asked)."""
    path = os.path.join(tracefs_root(), "events", category, name, "format")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise NotFoundError(f"tracepoint {category}:{name} does not exist on this kernel ({path})") from None
    fields = parse_format(text)
    return fields if include_common else [f for f in fields if not f.name.startswith("common_")]


def list_tracepoints() -> list[tuple[str, str]]:
    """Every (category, name) tracepoint of this kernel."""
    events = tracefs() / "events"
    out = []
    for cat in events.iterdir():
        if cat.is_dir():
            out.extend((cat.name, tp.name) for tp in cat.iterdir() if (tp / "format").exists())
    return sorted(out)
