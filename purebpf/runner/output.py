"""Printing decoded records: an aligned table with a header, or JSON lines.

Table columns take their width from the field's C type (``int`` 7, ``char[16]``
15, ``char[N]`` at most 32...); a wider value pushes the row rather than being
cut, and the last column is never padded.  A leading TIME column gives the
wall-clock second.  JSON lines carry exactly the record's fields.
"""

from __future__ import annotations

import json
import time
from typing import Any, TextIO

from purebpf.elf.records import Field


def _plain(value: Any) -> Any:
    """JSON for what json cannot take (raw bytes of an untyped record)."""
    if isinstance(value, bytes | bytearray):
        return value.hex()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class JsonPrinter:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._dumps = json.JSONEncoder(default=_plain, separators=(", ", ": ")).encode

    def header(self) -> None:
        pass

    def row(self, event: Any) -> None:
        if isinstance(event, bytes | bytearray):
            event = {"data": event.hex()}
        self.out.write(self._dumps(event) + "\n")


class TablePrinter:
    """Rows of ``fields`` (None: untyped records, shown as size and hex)."""

    def __init__(self, out: TextIO, fields: list[Field] | None, *, title: str | None = None) -> None:
        self.out = out
        self.title = title
        if fields:
            self.names = [f.name for f in fields]
            self.widths = [f.width for f in fields]
        else:
            self.names, self.widths = ["size", "data"], [5, 0]
        self._typed = bool(fields)
        self._fmt = " ".join(f"{{:<{w}}}" for w in self.widths[:-1]) + (" {}" if len(self.widths) > 1 else "{}")
        self._second = -1
        self._stamp = ""

    def header(self) -> None:
        if self.title:
            self.out.write(self.title + "\n")
        self.out.write(self._fmt_row("TIME", [n.upper() for n in self.names]) + "\n")

    def _fmt_row(self, stamp: str, cells: list[Any]) -> str:
        return f"{stamp:<8} " + self._fmt.format(*cells).rstrip()

    def row(self, event: Any) -> None:
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("%H:%M:%S", time.localtime(now))
        if self._typed and isinstance(event, dict):
            cells = [_cell(event.get(n, "")) for n in self.names]
        else:
            data = bytes(event) if isinstance(event, bytes | bytearray) else json.dumps(event, default=_plain)
            cells = [len(data), data.hex() if isinstance(data, bytes) else data]
        self.out.write(self._fmt_row(self._stamp, cells) + "\n")


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=_plain, separators=(",", ":"))
    return value
