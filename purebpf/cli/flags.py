"""A small flag parser for the tools' start-up path, with argparse behind it.

Importing argparse (with gettext and locale) and building a parser costs a
tool ~2.5 ms before it can load anything, about a tenth of what the C tools
take to start.  :class:`FlagParser` takes the same ``add_argument`` calls a
tool's ``arguments(p)`` makes and parses the plain command lines itself:
exact flags, ``--flag=value``, ``-pVALUE``, bundled short flags, and one run
of positionals.  Every other command line (``-h``, an error, an abbreviated
long flag, ``--``, a negative number...) goes to the real argparse parser that
``fallback()`` builds from the same ``arguments(p)``: help text, error
messages and exit codes are argparse's own, byte for byte.  So the fast path
never has to decide a question argparse would answer differently: when in
doubt it hands over.
"""

from __future__ import annotations

import sys

SimpleNamespace = type(sys.implementation)  # types.SimpleNamespace, as types defines it; types costs ~0.2 ms

TYPE_CHECKING = False  # typing costs ~1.5 ms to import and is needed only by type checkers
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

SUPPRESS = "==SUPPRESS=="  # argparse.SUPPRESS, without importing argparse
_KEYWORDS = frozenset({"action", "type", "default", "dest", "metavar", "help", "choices", "nargs"})


class _HandOver(Exception):
    """This command line is argparse's to parse."""


class _Flag:
    """One ``add_argument`` call, reduced to what parsing needs."""

    __slots__ = ("dest", "takes_value", "type", "default", "choices")

    def __init__(self, dest: str, takes_value: bool, type_: Callable[[str], Any] | None, default: Any,
                 choices: Any) -> None:
        self.dest = dest
        self.takes_value = takes_value
        self.type = type_
        self.default = default
        self.choices = choices

    def convert(self, text: str) -> Any:
        """The value argparse would store, or a hand-over when it would complain."""
        try:
            value = self.type(text) if self.type is not None else text
        except Exception:  # noqa: BLE001 - argparse words the error (type's own message or "invalid ...")
            raise _HandOver from None
        if self.choices is not None and value not in self.choices:
            raise _HandOver
        return value


class FlagParser:
    """Accepts what a tool's ``arguments(p)`` declares (``store_true`` flags,
    valued flags with ``type``/``default``/``choices``, ``nargs="?"``
    positionals) and parses into a namespace with the same attributes as
    argparse's.  A declaration it does not know makes every parse argparse's."""

    def __init__(self, fallback: Callable[[], argparse.ArgumentParser]) -> None:
        self._fallback = fallback
        self._options: dict[str, _Flag] = {}
        self._positionals: list[_Flag] = []
        self._flags: list[_Flag] = []
        self._defaults: dict[str, Any] = {}
        self._unsupported = False
        self.epilog: str | None = None  # argparse's attribute, which tools may set; the fallback has its own

    def add_argument(self, *names: str, **kw: Any) -> None:
        action = kw.get("action", "store")
        nargs = kw.get("nargs")
        if set(kw) - _KEYWORDS or action not in ("store", "store_true") or not names:
            self._unsupported = True
            return
        positional = not names[0].startswith("-")
        if (positional and (len(names) != 1 or nargs != "?" or action != "store")) or (not positional and nargs):
            self._unsupported = True
            return
        store_true = action == "store_true"
        default = kw.get("default", False if store_true else None)
        dest = names[0] if positional else kw.get("dest") or _dest(names)
        flag = _Flag(dest, not store_true, kw.get("type"), default, kw.get("choices"))
        self._flags.append(flag)
        if positional:
            self._positionals.append(flag)
        for name in () if positional else names:
            self._options[name] = flag

    def set_defaults(self, **kw: Any) -> None:
        for flag in self._flags:
            if flag.dest in kw:
                flag.default = kw[flag.dest]
        self._defaults.update(kw)

    def parse_args(self, argv: list[str]) -> Any:
        if not self._unsupported:
            try:
                return self._parse(argv)
            except _HandOver:
                pass
        return self._fallback().parse_args(argv)

    def _parse(self, argv: list[str]) -> SimpleNamespace:
        values = {flag.dest: flag.default for flag in self._flags}
        seen: set[str] = set()
        positionals: list[str] = []
        run_closed = False  # argparse reads one run of positionals; a second one is an error there
        i = 0
        while i < len(argv):
            token = argv[i]
            i += 1
            if not token.startswith("-") or token == "-":
                if run_closed:
                    raise _HandOver
                positionals.append(token)
                continue
            run_closed = bool(positionals)
            if token.startswith("--"):
                name, eq, text = token.partition("=")
                flag = self._option(name)
                if not flag.takes_value:
                    if eq:
                        raise _HandOver
                    values[flag.dest] = True
                    continue
                if not eq:
                    text, i = _next_value(argv, i)
                values[flag.dest] = flag.convert(text)
                seen.add(flag.dest)
                continue
            if token[1] in "0123456789." or " " in token or "=" in token:
                raise _HandOver  # negative numbers, "-x=1" and the like: argparse's rules
            for j in range(1, len(token)):
                flag = self._option("-" + token[j])
                if not flag.takes_value:
                    values[flag.dest] = True
                    continue
                text = token[j + 1:]
                if not text:
                    text, i = _next_value(argv, i)
                values[flag.dest] = flag.convert(text)
                seen.add(flag.dest)
                break
        if len(positionals) > len(self._positionals):
            raise _HandOver
        for flag, text in zip(self._positionals, positionals, strict=False):
            values[flag.dest] = flag.convert(text)
            seen.add(flag.dest)
        for flag in self._positionals[len(positionals):]:  # argparse converts and checks a '?' default
            if isinstance(flag.default, str):
                values[flag.dest] = flag.convert(flag.default)
            elif flag.choices is not None and flag.default not in flag.choices:
                raise _HandOver
        for flag in self._flags:  # and converts an unused option's string default
            if flag.dest not in seen and flag.takes_value and isinstance(flag.default, str) and flag.type:
                values[flag.dest] = flag.convert(flag.default)
        for dest, value in self._defaults.items():
            values.setdefault(dest, value)
        return SimpleNamespace(**values)

    def _option(self, name: str) -> _Flag:
        flag = self._options.get(name)
        if flag is None:  # -h, an abbreviation, a typo
            raise _HandOver
        return flag


def _next_value(argv: list[str], i: int) -> tuple[str, int]:
    """The argument after a valued flag; one that looks like a flag is argparse's to judge."""
    if i >= len(argv) or argv[i].startswith("-"):
        raise _HandOver
    return argv[i], i + 1


def _dest(names: tuple[str, ...]) -> str:
    """argparse's rule for a flag: its first long name, else its first name, without dashes."""
    name = next((n for n in names if n.startswith("--")), names[0])
    return name.lstrip("-").replace("-", "_")
