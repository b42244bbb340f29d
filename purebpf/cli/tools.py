"""The ready tools as ``purebpf TOOL`` subcommands.

Only the chosen tool's module is imported; the others get a placeholder
parser so argparse accepts their names.  They are listed in their own
"tools" group of ``purebpf --help``.  A tool's bad flag is one line on stderr
(``purebpf execsnoop: error: ...``) and exit status 2, without the usage dump.
``purebpf TOOL ...`` parses with :class:`purebpf.cli.flags.FlagParser`, which
imports argparse only for help and errors.
"""

from __future__ import annotations

import os
import sys

from purebpf._lazy import import_module
from purebpf._memo import cache
from purebpf.cli.flags import FlagParser
from purebpf.tools import TOOLS, available

TYPE_CHECKING = False  # typing costs ~2 ms to import and is needed only by type checkers
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn


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
        module = import_module(f"purebpf.tools.{name}")
        _configure(subparsers.add_parser(name, **_parser_options(module, help_)), name, module)


def parser(name: str) -> FlagParser | None:
    """The parser of tool ``name`` on its own (as ``purebpf NAME`` would show it),
    or None when there is no such tool: ``purebpf opensnoop ...`` needs neither
    the top-level parser nor a placeholder for each of the other tools.  Its
    help and errors come from the argparse parser :func:`argparse_parser` builds."""
    if name not in TOOLS:
        return None
    try:
        module = import_module(f"purebpf.tools.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"purebpf.tools.{name}":
            raise
        return None
    p = FlagParser(lambda: argparse_parser(name, module))
    module.arguments(p)
    p.set_defaults(func=module.run)
    return p


def argparse_parser(name: str, module) -> argparse.ArgumentParser:
    """Tool ``name``'s flags as an argparse parser of its own (``prog`` is ``purebpf NAME``)."""
    import argparse

    p = argparse.ArgumentParser(prog=f"purebpf {name}", **_parser_options(module, TOOLS[name]))
    _configure(p, name, module)
    return p


@cache
def _formatter_class() -> type:
    """argparse builds a formatter for every ``add_argument`` and each one asks
    ``shutil`` for the terminal width: importing shutil (and with it zlib, bz2
    and lzma) costs ~1.7 ms.  Same width rule, no shutil: ``$COLUMNS``, else
    the terminal's, else 80.  Defined on first use, as argparse is imported."""
    import argparse

    class Formatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:
            super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)

    return Formatter


def _columns() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _parser_options(module, help_: str) -> dict:
    description = module.__doc__.split("\n\n")[0] if module.__doc__ else help_
    return {"description": description, "formatter_class": _formatter_class()}


def _configure(p: argparse.ArgumentParser, name: str, module) -> None:
    p.error = _one_line_error(name)  # type: ignore[method-assign]
    module.arguments(p)
    p.set_defaults(func=module.run)
