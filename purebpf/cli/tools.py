"""The ready tools as ``purebpf TOOL`` subcommands.

Only the chosen tool's module is imported; the others get a placeholder
parser so argparse accepts their names.  They are listed in their own
"tools" group of ``purebpf --help``.  A tool's bad flag is one line on stderr
(``purebpf execsnoop: error: ...``) and exit status 2, without the usage dump.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from purebpf.tools import available


def names() -> list[str]:
    return list(available())


def epilog() -> str:
    tools = available()
    width = max(map(len, tools), default=0)
    lines = [f"  {name.ljust(width)}  {help_}" for name, help_ in tools.items()]
    return "tools (purebpf TOOL -h for a tool's flags):\n" + "\n".join(lines)


def _one_line_error(name: str):
    def error(message: str) -> NoReturn:
        print(f"purebpf {name}: error: {message}", file=sys.stderr)
        raise SystemExit(2)
    return error


def register(subparsers: argparse._SubParsersAction, only: str | None) -> None:
    """Add every tool's parser (placeholders except ``only``); none shows in the
    COMMAND list, the epilog lists them as a group."""
    for name, help_ in available().items():
        if only != name:
            subparsers.add_parser(name, add_help=False)
            continue
        module = importlib.import_module(f"purebpf.tools.{name}")
        p = subparsers.add_parser(name, description=module.__doc__.split("\n\n")[0] if module.__doc__ else help_,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        p.error = _one_line_error(name)  # type: ignore[method-assign]
        module.arguments(p)
        p.set_defaults(func=module.run)
