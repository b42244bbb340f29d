"""Fields of a tracepoint's record, read from tracefs ``events/CAT/NAME/format``.

A tracepoint program's context is this record; ``args->field`` in bpftrace and
hand-written programs read fields at these offsets.
"""

from __future__ import annotations

import os

from purebpf._record import Record
from purebpf.errors import NotFoundError
from purebpf.sys.fs import tracefs, tracefs_root

_IDENT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class TracepointField(Record):
    """One field of a tracepoint record.  ``c_type`` is the declaration without
    the name (``const char *``, ``char[16]``); ``data_loc`` marks ``__data_loc``
    fields, a u32 (len << 16 | offset) to a variable-size array.

    A :class:`~purebpf._record.Record`, not a dataclass or a named tuple: every
    tool reads these at start-up, ``dataclasses`` (with ``inspect``) costs ~5 ms
    to import and ``collections`` ~1 ms."""

    __slots__ = _fields = ("name", "c_type", "offset", "size", "signed", "data_loc")

    def __init__(self, name: str, c_type: str, offset: int, size: int, signed: bool, data_loc: bool) -> None:
        self.name = name
        self.c_type = c_type
        self.offset = offset
        self.size = size
        self.signed = signed
        self.data_loc = data_loc

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
        if not self.c_type.endswith("]"):
            return None
        dim = self.c_type[self.c_type.rfind("[") + 1:-1]
        return int(dim) if dim.isascii() and dim.isdigit() else None


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
    """The ``field:DECL; offset:N; size:N; signed:N;`` lines, split by hand:
    ``re`` costs a tool ~1.5 ms to import and compile."""
    fields = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(";")]
        if len(parts) < 4 or not parts[0].startswith("field:"):
            continue
        offset, size, signed = (part.partition(":")[2] for part in parts[1:4])
        if not (parts[1].startswith("offset:") and parts[2].startswith("size:") and parts[3].startswith("signed:")
                and offset.isdigit() and size.isdigit() and signed.isdigit()):
            continue
        decl = parts[0][len("field:"):].strip()
        data_loc = decl.startswith("__data_loc")
        if data_loc:
            decl = decl[len("__data_loc"):].strip()
        field = _split_decl(decl)
        if field is not None:
            name, c_type = field
            fields.append(TracepointField(name, c_type, int(offset), int(size), signed == "1", data_loc))
    return fields


def _split_decl(decl: str) -> tuple[str, str] | None:
    """``const char * filename`` -> (``filename``, ``const char *``); ``char comm[16]`` -> (``comm``, ``char[16]``)."""
    dims = ""
    if decl.endswith("]") and "[" in decl:
        start = decl.rfind("[")
        if "]" in decl[start:-1]:
            return None
        decl, dims = decl[:start].rstrip(), decl[start:]
    start = len(decl)
    while start and decl[start - 1] in _IDENT:
        start -= 1
    if start == len(decl) or decl[start].isdigit():
        return None
    return decl[start:], (decl[:start].strip() + dims).strip()


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
