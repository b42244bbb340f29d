"""Wildcard uprobes: ``uprobe:./app:func*``, ``uprobe:./lib*.so:f``, and ``uprobe:*:f`` with ``-p PID``
become one concrete attach point per (file, function) that matches.

The file part keeps the user's spelling (``./testprogs/app`` stays so) because ``probe``
prints it back; only a pattern is replaced by the files it names: paths matching the glob,
or, for a process, the files it maps. Function names come from the files' ELF symbol tables.
"""

from __future__ import annotations

from purebpf.errors import BPFError, InvalidInputError
from purebpf.trace.probes import ProbeError, ProbeTarget, has_wildcard


def expand(target: ProbeTarget, pid: int | None) -> list[ProbeTarget]:
    """The concrete targets of ``target`` (itself when it has no wildcard); empty when nothing matches."""
    if not has_wildcard(target.target) and not has_wildcard(target.func):
        return [target]
    out = []
    for path in _files(target.target, pid):
        for func in functions(path, target.func, pid, skip_bad=has_wildcard(target.target)):
            out.append(ProbeTarget(target.provider, path, func, target.offset))
    return out


def _files(path: str, pid: int | None) -> list[str]:
    if not has_wildcard(path):
        return [path]
    from purebpf.trace.usdt import files  # the same file selection as usdt probes: globs, -p's mappings

    return files(path, pid)


def functions(path: str, pattern: str, pid: int | None = None, *, skip_bad: bool = False) -> list[str]:
    """Names of the functions defined in ``path`` (a path, or a library name) matching glob ``pattern``;
    a file that is no ELF binary matches nothing when ``skip_bad`` (it came from a glob) or ``pattern`` is one."""
    from purebpf.links.symbols import resolve_binary, symbol_table
    from purebpf.links.uprobe_multi import functions_matching

    try:
        binary = resolve_binary(path, pid)
        table = symbol_table(binary)
    except BPFError as exc:
        if skip_bad or has_wildcard(pattern):
            return []
        raise ProbeError(str(exc)) from None
    if not has_wildcard(pattern):  # defined here, not imported (a process maps the file that defines it too)
        return [pattern] if table.symbols.get(pattern, (0, False))[1] else []
    return functions_matching(binary, pattern)


def check_boundary(path: str, func: str, pid: int | None, unsafe: bool) -> None:
    """A function whose symbol has no size may be data or a label: probing it could write a breakpoint
    into the middle of an instruction, so (as bpftrace) only ``--unsafe`` allows it."""
    from purebpf.links.symbols import resolve_binary, symbol_table

    if unsafe:
        return
    try:
        table = symbol_table(resolve_binary(path, pid))
    except BPFError:
        return  # reported when attaching
    if func in table.symbols and table.symbols[func][1] and table.sizes.get(func, 0) == 0:
        raise InvalidInputError(f"Could not determine boundary for {func} (symbol has size 0).\n"
                                "Use --unsafe to force attachment. WARNING: This option could lead to data "
                                "corruption in the target process.")


def source_line_targets(target: ProbeTarget, pid: int | None, debuginfo: tuple[str, ...] = ()) -> list[ProbeTarget]:
    """``uprobe:BIN@FILE.c:LINE``: one attach point (an address) per statement of that source line,
    from the binary's DWARF line table; raises ProbeError when the line has no code."""
    from purebpf.links.symbols import resolve_binary
    from purebpf.symbols.dwarf import debug_info

    path, _, file = target.target.partition("@")
    if not file or not target.func.isdigit():
        raise ProbeError(f"{target.provider}:{target.target}:{target.func}: a source location is "
                         f"{target.provider}:BINARY@FILE:LINE")
    try:
        info = debug_info(str(resolve_binary(path, pid)), debuginfo)
    except BPFError as exc:
        raise ProbeError(str(exc)) from None
    if info is None:
        raise ProbeError(f"{path} has no debug information (DWARF): cannot attach to {file}:{target.func} "
                         "(build it with -g, or give --debuginfo DIR)")
    addresses = info.line_addresses(file, int(target.func))
    if not addresses:
        raise ProbeError(f"No code at {file}:{target.func} in {path} (see its DWARF line table)")
    return [ProbeTarget(target.provider, path, hex(a)) for a in addresses]
