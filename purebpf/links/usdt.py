"""USDT links: a KPROBE-type program on every site of one statically defined
user-space probe (the ``.note.stapsdt`` notes of ``DTRACE_PROBE``/``STAP_PROBE``).

    link = Usdt(prog, "/usr/bin/python3", "python", "function__entry")
    link = Usdt(prog, "./app", "app", "request", pid=1234,
                cookie=lambda note: spec_index[note.arg_spec])  # per-site cookie

Needs Linux 4.20 for a probe with a semaphore (the uprobe PMU's
``ref_ctr_offset``: the kernel increments the semaphore in every process that
maps the file, present and future, and decrements it when the link closes) and
5.15 for cookies.  A probe inlined in several places has several sites: one
uprobe per site, all owned by this one link; closing it removes them all.
"""

from __future__ import annotations

import ctypes
import fnmatch
from collections.abc import Callable
from pathlib import Path

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links.attach import require_program
from purebpf.links.perf_attach import PerfEventGroup
from purebpf.links.symbols import resolve_binary
from purebpf.programs import Program
from purebpf.symbols.usdt import UsdtNote, usdt_notes
from purebpf.sys import ProgType
from purebpf.sys.perf import open_event, pmu_type

REF_CTR_FORMAT = "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset"


def usdt_probes(binary: str, pid: int | None = None) -> list[UsdtNote]:
    """Every USDT probe site of ``binary`` (a path, or a library/program name looked
    up as uprobes do), in note order."""
    return list(usdt_notes(resolve_binary(binary, pid)))


def find_sites(path: str | Path, provider: str | None, name: str) -> list[UsdtNote]:
    """The sites of probe ``provider:name`` in ``path`` (``provider`` None: any, when only
    one provider has that name); raises NotFoundError listing what exists."""
    notes = usdt_notes(path)
    sites = [n for n in notes if n.name == name and provider in (None, n.provider)]
    if not sites:
        known = sorted({n.full_name for n in notes})
        listing = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
        want = f"{provider}:{name}" if provider is not None else name
        raise NotFoundError(f"no USDT probe {want} in {path} (its probes: {listing})")
    providers = sorted({n.provider for n in sites})
    if len(providers) > 1:
        raise InvalidInputError(f"USDT probe name {name} is ambiguous in {path}: give the provider, one of "
                                f"{', '.join(providers)}")
    return sites


def ref_ctr_shift() -> int:
    """Where ``ref_ctr_offset`` goes in the uprobe event's ``config`` (bit 32 on every kernel so far)."""
    try:
        with open(REF_CTR_FORMAT) as f:
            text = f.read().strip()  # "config:32-63"
        return int(text.split(":", 1)[1].split("-")[0])
    except OSError:
        return -1  # pre-4.20: no semaphore support
    except (ValueError, IndexError):
        return 32


class Usdt(PerfEventGroup):
    """One USDT probe: a uprobe on each of its sites (see :attr:`links`)."""

    kind = "usdt"

    def __init__(self, prog: Program, binary: str, provider: str | None, name: str, *, pid: int | None = None,
                 cookie: int | Callable[[UsdtNote], int] = 0) -> None:
        """``binary`` is a path or a library/program name; ``provider`` None matches
        any provider (when the name is unambiguous); ``pid`` restricts the probe to
        one process; ``cookie`` is one value for every site, or a function of the
        site (:class:`UsdtNote`) that gives each its own."""
        require_program(prog, [ProgType.KPROBE], "a USDT probe")
        if not isinstance(name, str) or not name or any(c in name for c in "*?["):
            raise InvalidInputError(f"invalid USDT probe name {name!r}: expected one exact name")
        if pid is not None and (not isinstance(pid, int) or pid <= 0):
            raise InvalidInputError(f"invalid pid {pid!r}: expected a positive process id, or None for all")
        if pid is not None and not Path(f"/proc/{pid}").exists():
            raise NotFoundError(f"no process with pid {pid}")
        path = resolve_binary(binary, pid)
        sites = find_sites(path, provider, name)
        shift = ref_ctr_shift()
        if shift < 0 and any(s.semaphore for s in sites):
            from purebpf.errors import NotSupportedError
            raise NotSupportedError(f"USDT probe {sites[0].full_name} in {path} has a semaphore and this kernel's "
                                    "uprobes cannot set one (ref_ctr_offset needs Linux 4.20)")
        super().__init__()
        self.path, self.provider, self.name, self.pid = path, sites[0].provider, name, pid
        self.sites = sites
        pmu = pmu_type("uprobe")
        path_buf = ctypes.create_string_buffer(str(path).encode())  # config1: char * read during the call

        def events():
            for site in sites:
                what = f"usdt {path}:{site.full_name} at {site.offset:#x}"
                config = site.semaphore_offset << shift if site.semaphore_offset else 0
                raw = open_event(pmu, config, pid=pid if pid is not None else -1, cpu=0 if pid is None else -1,
                                 sample_period=1, config1=ctypes.addressof(path_buf), config2=site.offset, what=what)
                yield raw, what, cookie(site) if callable(cookie) else cookie

        self._attach_each(prog, events())

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"attached at {len(self.links)} sites"
        return f"<Usdt {self.path}:{self.provider}:{self.name} {state}>"


def match_probes(notes: list[UsdtNote] | tuple[UsdtNote, ...], provider: str, name: str) -> list[tuple[str, str]]:
    """Distinct (provider, name) pairs matching glob patterns (empty pattern: any), sorted."""
    return sorted({(n.provider, n.name) for n in notes
                   if fnmatch.fnmatchcase(n.provider, provider or "*") and fnmatch.fnmatchcase(n.name, name or "*")})


__all__ = ["Usdt", "find_sites", "match_probes", "usdt_probes"]
