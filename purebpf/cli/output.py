"""Shared output helpers: every subcommand prints text by default and JSON with --json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-j", "--json", action="store_true", help="print JSON instead of text")


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


def emit(args: argparse.Namespace, data: Any, text: Callable[[Any], Iterable[str]]) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else the lines ``text(data)`` yields."""
    out = sys.stdout
    if getattr(args, "json", False):
        json.dump(_plain(data), out, indent=None)
        out.write("\n")
        return
    for line in text(data):
        out.write(line + "\n")


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    """Left-aligned columns sized to their widest cell."""
    cols = [header, *rows]
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cols]
