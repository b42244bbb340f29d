"""Source locations and diagnostics, printed the way bpftrace prints them:

    stdin:1:14-15: ERROR: syntax error, unexpected ;
    BEGIN { $x = ; }
                 ~

Passes collect diagnostics instead of raising mid-pass, so one run reports
every error it can find.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from purebpf.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Location:
    """A span on one line: 1-based ``line``, columns ``col`` (inclusive) to ``end`` (exclusive)."""
    line: int
    col: int
    end: int
    expanded_from: Location | None = field(default=None, compare=False)  # the macro call this came from

    def join(self, other: Location) -> Location:
        """The span from this location to ``other`` (clipped to this line)."""
        if other.line != self.line:
            return self
        return Location(self.line, min(self.col, other.col), max(self.end, other.end), self.expanded_from)


@dataclass(slots=True)
class Diagnostic:
    level: str  # "ERROR" or "WARNING"
    message: str
    loc: Location | None


@dataclass
class Source:
    """A program's text and the name it is reported under (``stdin`` for -e)."""
    text: str
    name: str = "stdin"
    _lines: list[str] = field(default_factory=list, repr=False)

    def line(self, n: int) -> str:
        if not self._lines:
            self._lines = self.text.split("\n")
        return self._lines[n - 1] if 0 < n <= len(self._lines) else ""

    def format_message(self, level: str, message: str, loc: Location | None) -> str:
        return self.format(Diagnostic(level, message, loc))

    def format(self, diag: Diagnostic) -> str:
        if diag.loc is None:
            return f"{diag.level}: {diag.message}"
        loc = diag.loc
        parts = [self._at(loc, diag.level, diag.message)]
        while loc.expanded_from is not None:  # the chain of macro calls, innermost first
            loc = loc.expanded_from
            parts.append(self._at(loc, diag.level, "expanded from"))
        return "\n".join(parts)

    def _at(self, loc: Location, level: str, message: str) -> str:
        head = f"{self.name}:{loc.line}:{loc.col}-{loc.end}: {level}: {message}"
        marker = " " * (loc.col - 1) + "~" * (loc.end - loc.col)
        return f"{head}\n{self.line(loc.line)}\n{marker}"


class Diagnostics:
    """The errors and warnings of one compilation."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[Diagnostic] = []

    def error(self, message: str, loc: Location | None) -> None:
        self.items.append(Diagnostic("ERROR", message, loc))

    def warning(self, message: str, loc: Location | None) -> None:
        self.items.append(Diagnostic("WARNING", message, loc))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.level == "ERROR"]

    def render(self) -> str:
        return "\n".join(self.source.format(d) for d in self.items)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ProgramError(self.render())


class ProgramError(InvalidInputError):
    """A bpftrace program with syntax or semantic errors; the message is the
    full bpftrace-style report (several lines)."""
