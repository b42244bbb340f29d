"""``usdt:PATH:[PROVIDER:]NAME`` probes in ``purebpf trace``: which files and
probes an attach point names, what ``-l`` lists, how ``argN`` is read, and the
attachment.

An attach point names files by path (a glob is matched against the file
system), or with ``-p PID`` by the files that process maps (an empty or
wildcard path: its executable and libraries).  It expands to one probe per
distinct ``provider:name`` (a probe inlined in several places stays one probe
with several sites).  Sites of one probe may pass their arguments differently
(``-4@%edi`` here, ``-4@8(%rsp)`` there): each distinct spec list gets an
index, the link gives every site the index of its specs as its BPF cookie, and
the program reads ``argN`` by the spec the cookie selects.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator
from functools import lru_cache

from purebpf.errors import BPFError
from purebpf.symbols.usdt import UsdtArg, UsdtNote, usdt_notes
from purebpf.trace.probes import ProbeError, ProbeTarget, has_wildcard

MAX_ARGS = 12  # what sys/sdt.h can pass


def split(args: list[str]) -> tuple[str, str, str]:
    """(path, provider, name) of the parts after ``usdt:`` (provider "" when left out)."""
    if len(args) == 1:
        return args[0], "", "*"
    if len(args) == 2:
        return args[0], "", args[1]
    if len(args) == 3:
        return args[0], args[1], args[2]
    raise ProbeError("usdt probe type requires 2 or 3 arguments (usdt:PATH:[PROVIDER:]NAME)")


def parts(target: ProbeTarget) -> tuple[str, str]:
    provider, _, name = target.func.partition(":")
    return provider, name


# ---- which files -----------------------------------------------------------------

def _mapped_files(pid: int) -> list[str]:
    """The ELF files process ``pid`` maps (its executable first), as /proc/PID/maps names them."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        raise ProbeError(f"cannot read the mappings of pid {pid}: no such process?") from None
    files = []
    try:
        files.append(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        pass
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/") and not fields[5].endswith(" (deleted)"):
            files.append(fields[5])
    return list(dict.fromkeys(files))


def _readable(path: str, pid: int | None) -> str:
    """Where to read ``path`` from: through the process's root when it lives in another mount namespace."""
    if pid is not None and path.startswith("/") and os.path.exists(f"/proc/{pid}/root{path}"):
        inside = f"/proc/{pid}/root{path}"
        if not os.path.exists(path) or os.stat(path).st_ino != os.stat(inside).st_ino:
            return inside
    return path


def files(path: str, pid: int | None) -> list[str]:
    """The files an attach point's path names (as the probe names will show them)."""
    if pid is not None and (not path or has_wildcard(path)):
        return [f for f in _mapped_files(pid) if not path or fnmatch.fnmatchcase(f, path)]
    if not path:
        raise ProbeError("usdt probes need a binary path (usdt:PATH:PROVIDER:NAME) or a process (-p PID)")
    if has_wildcard(path):
        if path == "*":
            return sorted({f for pid_dir in _all_pids() for f in _safe_mapped(pid_dir)})
        return sorted(p for p in glob.glob(path) if os.path.isfile(p))
    if "/" not in path:
        from purebpf.links.symbols import resolve_binary
        try:
            return [str(resolve_binary(path, pid))]
        except BPFError as exc:
            raise ProbeError(str(exc)) from None
    if not os.path.exists(_readable(path, pid)):
        raise ProbeError(f"usdt target file {path} does not exist")
    return [path]


def _all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit() and int(d) != os.getpid()]


def _safe_mapped(pid: int) -> list[str]:
    try:
        return _mapped_files(pid)
    except ProbeError:
        return []


def _notes(path: str, pid: int | None = None) -> tuple[UsdtNote, ...]:
    try:
        return usdt_notes(_readable(path, pid))
    except BPFError:
        return ()


# ---- expansion and listing ----------------------------------------------------------

def matches(path: str, provider: str, name: str, pid: int | None) -> list[tuple[str, str, str]]:
    """(file, provider, name) of every probe the pattern names, sorted per file."""
    out = []
    for f in files(path, pid):
        found = sorted({(n.provider, n.name) for n in _notes(f, pid)
                        if fnmatch.fnmatchcase(n.provider, provider or "*") and fnmatch.fnmatchcase(n.name, name)},
                       key=lambda pn: f"{pn[0]}:{pn[1]}")  # as bpftrace -l orders them
        out += [(f, p, n) for p, n in found]
    return out


def expand(target: ProbeTarget, pid: int | None) -> list[ProbeTarget]:
    """The concrete probes of one usdt attach point; raises ProbeError when none match."""
    path, _, rest = target.target, None, target.func
    provider, name = rest.split(":", 1) if ":" in rest else ("", rest)
    found = matches(path, provider, name, pid)
    if not found:
        raise ProbeError(f"No probes matched: usdt:{path}:{provider + ':' if provider else ''}{name}")
    if not provider and not has_wildcard(name):  # a bare name must be unambiguous in its file
        per_file: dict[str, list[str]] = {}
        for f, p, _ in found:
            per_file.setdefault(f, []).append(p)
        for f, provs in per_file.items():
            if len(provs) > 1:
                raise ProbeError(f"usdt probe {name} in {f} is ambiguous: give the provider, one of "
                                 f"{', '.join(sorted(provs))}")
    return [ProbeTarget("usdt", f, f"{p}:{n}") for f, p, n in found]


def listing(pattern: str, pid: int | None) -> Iterator[str]:
    """``-l`` names for a ``usdt:...`` search (or everything ``-p PID`` maps)."""
    args = pattern.split(":")[1:] if ":" in pattern else []
    if not args:
        args = ["*"]
    path = args[0]
    provider = args[1] if len(args) >= 3 else "*"
    name = args[-1] if len(args) >= 2 else "*"
    if pid is not None and path == "*":
        path = ""
    try:
        found = matches(path, provider, name or "*", pid)
    except ProbeError:
        return
    for f, p, n in found:
        yield f"usdt:{f}:{p}:{n}"


# ---- arguments ------------------------------------------------------------------------

def sites(target: ProbeTarget, pid: int | None = None) -> list[UsdtNote]:
    provider, name = parts(target)
    return [n for n in _notes(target.target, pid) if n.provider == provider and n.name == name]


def spec_lists(target: ProbeTarget) -> list[tuple[UsdtArg, ...]]:
    """The distinct argument spec lists of the probe's sites, in site order (cookie = index)."""
    return list(_spec_lists(target).values())


@lru_cache(maxsize=64)
def _spec_lists(target: ProbeTarget) -> dict[str, tuple[UsdtArg, ...]]:
    seen: dict[str, tuple[UsdtArg, ...]] = {}
    for site in sites(target):
        seen.setdefault(site.arg_spec, site.args)
    return seen


def spec_index(target: ProbeTarget, site: UsdtNote) -> int:
    keys = list(_spec_lists(target))
    return keys.index(site.arg_spec) if site.arg_spec in keys else 0


def attach(prog, target: ProbeTarget, pid: int | None):
    """The link of one concrete usdt probe (every site, each with its spec index as cookie)."""
    from purebpf.links.usdt import Usdt

    provider, name = parts(target)
    many = len(_spec_lists(target)) > 1
    return Usdt(prog, _readable(target.target, pid), provider, name, pid=pid,
                cookie=(lambda site: spec_index(target, site)) if many else 0)


__all__ = ["MAX_ARGS", "attach", "expand", "listing", "matches", "sites", "spec_lists", "split"]
