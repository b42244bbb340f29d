"""Uprobe-multi links: one KPROBE program on many functions (or offsets) of one
binary through a single bpf_link.

    spec = ProgramSpec(ProgType.KPROBE, insns, expected_attach_type=AttachType.TRACE_UPROBE_MULTI)
    link = UprobeMulti(Program(spec), "c", symbols="str*", cookies=None)      # every libc str* function
    link = UprobeMulti(prog, "./app", symbols=["f", "g"], cookies=[1, 2], retprobe=True, pid=1234)

Needs Linux 6.6 (``BPF_TRACE_UPROBE_MULTI``); :func:`purebpf.features.has_attach_kind`
("uprobe_multi") tells.  Compared with one :class:`~purebpf.links.Uprobe` per function
this is one program and one syscall however many functions match: attaching a
hundred libc functions costs one ``LINK_CREATE`` instead of a hundred perf events.
The program must have been loaded with ``expected_attach_type=TRACE_UPROBE_MULTI``.
Per-function data comes from ``cookies`` (``bpf_get_attach_cookie`` returns the one
of the function that fired) or ``bpf_get_func_ip``.  Closing the link removes
every probe at once.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

from purebpf.errors import InvalidInputError, NotFoundError, SyscallError
from purebpf.links.attach import ENOTSUPP, require_program
from purebpf.links.link import Link
from purebpf.links.symbols import attach_path, resolve_binary, symbol_offset, symbol_table
from purebpf.programs import Program
from purebpf.sys import FD, AttachType, Cmd, ProgType, bpf, bpf_raw
from purebpf.sys.attrs import LinkCreateUprobeMultiAttr
from purebpf.sys.constants import BPF_F_UPROBE_MULTI_RETURN

MAX_PROBES = 1 << 20  # the kernel's MAX_UPROBE_MULTI_CNT


def functions_matching(binary: str | Path, pattern: str) -> list[str]:
    """Names of the functions defined in ELF ``binary`` whose names match glob ``pattern``, sorted; code
    only (a symbol in an executable segment), so ``_edata`` and the like never match."""
    table = symbol_table(binary)
    code = [(seg.vaddr, seg.vaddr + seg.memsz) for seg in table.segments if seg.executable]
    return sorted(name for name, (value, defined) in table.symbols.items()
                  if defined and fnmatch.fnmatchcase(name, pattern) and any(lo <= value < hi for lo, hi in code))


class UprobeMulti(Link):
    kind = "uprobe_multi"

    def __init__(self, prog: Program, binary: str, *, offsets: Sequence[int] | None = None,
                 symbols: Sequence[str] | str | None = None, retprobe: bool = False, pid: int | None = None,
                 cookies: Sequence[int] | None = None) -> None:
        """``binary`` is a path or a library/program name (as for :class:`~purebpf.links.Uprobe`);
        give either ``symbols`` (function names, ``"name+0x10"``, or one glob such as ``"str*"``) or
        ``offsets`` (file offsets, as the kernel takes them).  ``cookies``, one u64 per probe in the
        same order, are what ``bpf_get_attach_cookie`` returns there; ``pid`` restricts every probe to
        that process."""
        kind = "uretprobe_multi" if retprobe else "uprobe_multi"
        require_program(prog, [ProgType.KPROBE], f"a {kind}")
        if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0):
            raise InvalidInputError(f"invalid pid {pid!r}: expected a positive process id, or None for all")
        if pid is not None and not Path(f"/proc/{pid}").exists():
            raise NotFoundError(f"no process with pid {pid}")
        if (offsets is None) == (symbols is None):
            raise InvalidInputError(f"a {kind} needs exactly one of symbols= (function names or a glob) "
                                    "and offsets= (file offsets)")
        path = resolve_binary(binary, pid)
        names, file_offsets = _targets(path, symbols, offsets, kind)
        cookie_list = _cookies(cookies, len(file_offsets))
        what = f"{kind} {path} ({len(file_offsets)} probes)"
        path_buf = ctypes.create_string_buffer(attach_path(path).encode())
        offs = (ctypes.c_uint64 * len(file_offsets))(*file_offsets)
        cooks = (ctypes.c_uint64 * len(cookie_list))(*cookie_list) if cookie_list else None
        attr = LinkCreateUprobeMultiAttr(
            prog_fd=prog.fd, attach_type=AttachType.TRACE_UPROBE_MULTI, path=ctypes.addressof(path_buf),
            offsets=ctypes.addressof(offs), cookies=ctypes.addressof(cooks) if cooks is not None else 0,
            cnt=len(file_offsets), multi_flags=BPF_F_UPROBE_MULTI_RETURN if retprobe else 0, pid=pid or 0)
        try:
            fd = FD(bpf(Cmd.LINK_CREATE, attr, what))
        except SyscallError as exc:
            if exc.errno == ENOTSUPP:  # the kernel refuses the whole link for one probe: name it
                bad = _first_refused(attr, file_offsets)
                raise SyscallError(
                    f"{what}: the kernel cannot probe {names[bad] if names else hex(file_offsets[bad])} (its first "
                    "instruction cannot be stepped over, e.g. a lock-prefixed one): leave that function out",
                    exc.errno, exc.op) from None
            raise _hint(exc, kind) from None
        super().__init__(fd)
        self.kind = kind
        self.path, self.pid, self.retprobe = path, pid, retprobe
        self.symbols: list[str] | None = names
        self.offsets: list[int] = list(file_offsets)
        self.cookies: list[int] = cookie_list

    def __repr__(self) -> str:
        state = "closed" if self.closed else "attached"
        return f"<UprobeMulti {self.kind} {self.path} probes={len(self.offsets)} {state}>"


def _targets(path: Path, symbols: Sequence[str] | str | None, offsets: Sequence[int] | None,
             kind: str) -> tuple[list[str] | None, list[int]]:
    """The probes' names (None when given as offsets) and file offsets, all checked."""
    if symbols is not None:
        if isinstance(symbols, str):
            names = functions_matching(path, symbols) if any(c in symbols for c in "*?[") else [symbols]
            if not names:
                raise NotFoundError(f"no function of {path} matches {symbols!r}")
        else:
            names = list(symbols)
            if any(not isinstance(n, str) or not n for n in names):
                raise InvalidInputError(f"invalid {kind} symbols {names!r}: expected function names")
        found = [symbol_offset(path, name) for name in names]
    else:
        names = None
        found = list(offsets or ())
        if any(not isinstance(o, int) or isinstance(o, bool) or not 0 <= o < 1 << 64 for o in found):
            raise InvalidInputError(f"invalid {kind} offsets {found!r}: expected file offsets (ints >= 0)")
    if not found:
        raise InvalidInputError(f"a {kind} needs at least one symbol or offset")
    if len(found) > MAX_PROBES:
        raise InvalidInputError(f"a {kind} takes at most {MAX_PROBES} probes, not {len(found)}: split them")
    return names, found


def _cookies(cookies: Sequence[int] | None, count: int) -> list[int]:
    if cookies is None:
        return []
    out = list(cookies)
    if len(out) != count:
        raise InvalidInputError(f"{len(out)} cookies for {count} probes: give one cookie per probe, in order")
    if any(not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < 1 << 64 for c in out):
        raise InvalidInputError(f"invalid cookies {out!r}: each must be an int that fits in 64 bits")
    return out


def _first_refused(attr: LinkCreateUprobeMultiAttr, offsets: Sequence[int]) -> int:
    """The index of the first probe the kernel refuses (ENOTSUPP refuses the whole link without naming
    it): halve the range until one is left, attaching (and at once detaching) the half that may hold it."""
    lo, hi = 0, len(offsets)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        part = (ctypes.c_uint64 * (mid - lo))(*offsets[lo:mid])
        trial = LinkCreateUprobeMultiAttr(prog_fd=attr.prog_fd, attach_type=attr.attach_type, path=attr.path,
                                          offsets=ctypes.addressof(part), cnt=mid - lo,
                                          multi_flags=attr.multi_flags, pid=attr.pid)
        ret, err = bpf_raw(Cmd.LINK_CREATE, trial)
        if ret >= 0:
            os.close(ret)
            lo = mid
        elif err == ENOTSUPP:
            hi = mid
        else:
            break
    return lo


def _hint(exc: SyscallError, kind: str) -> SyscallError:
    if exc.errno == errno.EINVAL:
        exc.args = (exc.args[0] + f"; a {kind} needs Linux 6.6+ and a program loaded with "
                    "expected_attach_type=TRACE_UPROBE_MULTI",)
    return exc
