"""``purebpf trace -l``: the probes one could attach, in bpftrace's notation.

Each provider yields its probe names lazily, and only providers whose name
can match the search are asked (listing every tracepoint is cheap; reading a
binary's symbols is not).  Providers this kernel cannot attach (kprobes,
fentry when refused) list nothing rather than names that would fail.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterator

from purebpf.trace.probes import HARDWARE_EVENTS, SOFTWARE_EVENTS

TIME_UNITS = ("hz", "us", "ms", "s")


def _tracepoints() -> Iterator[str]:
    from purebpf.sys.tracepoint_format import list_tracepoints

    for cat, name in list_tracepoints():
        yield f"tracepoint:{cat}:{name}"


def _rawtracepoints() -> Iterator[str]:
    from purebpf.sys.tracepoint_format import list_tracepoints

    for name in sorted({name for _, name in list_tracepoints()}):
        yield f"rawtracepoint:vmlinux:{name}"


def _events(provider: str, table: dict[str, int]) -> Iterator[str]:
    for name in sorted(table):
        yield f"{provider}:{name}:"


def _timers(provider: str) -> Iterator[str]:
    for unit in TIME_UNITS:
        yield f"{provider}:{unit}:"


def _kernel_functions(provider: str) -> Iterator[str]:
    from purebpf.features import has_attach_kind

    kind = {"kprobe": "kprobe", "kretprobe": "kprobe", "fentry": "fentry", "fexit": "fexit"}[provider]
    if not has_attach_kind(kind):
        return
    path = "/sys/kernel/tracing/available_filter_functions"
    try:
        with open(path) as f:
            names = sorted({line.split()[0] for line in f  # ftrace's placeholders for dropped functions
                            if line.strip() and not line.startswith("__ftrace_invalid_address__")})
    except OSError:
        return
    module = "vmlinux:" if provider in ("fentry", "fexit") else ""
    for name in names:
        yield f"{provider}:{module}{name}"
    if provider in ("fentry", "fexit"):  # and the functions of loaded BPF programs
        from purebpf.links.prog_target import loaded_functions
        for f in loaded_functions():
            yield f"{provider}:bpf:{f.prog_id}:{f.name}"


def _iterators() -> Iterator[str]:
    from purebpf.links.iterator import iter_targets

    for name in iter_targets():
        yield f"iter:{name}"


PROVIDERS = {
    "tracepoint": _tracepoints,
    "rawtracepoint": _rawtracepoints,
    "software": lambda: _events("software", SOFTWARE_EVENTS),
    "hardware": lambda: _events("hardware", HARDWARE_EVENTS),
    "interval": lambda: _timers("interval"),
    "profile": lambda: _timers("profile"),
    "kprobe": lambda: _kernel_functions("kprobe"),
    "kretprobe": lambda: _kernel_functions("kretprobe"),
    "fentry": lambda: _kernel_functions("fentry"),
    "fexit": lambda: _kernel_functions("fexit"),
    "iter": _iterators,
}


def _uprobes(provider: str, binary: str, func: str, pid: int | None) -> Iterator[str]:
    """uprobes of the files ``binary`` names (a path as written, a glob, a library name, or ``*``/nothing
    for every file ``pid`` maps) whose function matches glob ``func``."""
    from purebpf.links.symbols import resolve_binary
    from purebpf.trace.probes import has_wildcard
    from purebpf.trace.uprobes import functions

    globbed = not binary or has_wildcard(binary)
    if globbed:
        from purebpf.trace.usdt import files
        paths = files(binary or "*", pid)
    else:
        paths = [binary]
    for path in paths:
        shown = path if "/" in path else str(resolve_binary(path, pid))  # a library by name: its full path
        for sym in functions(path, func or "*", pid, skip_bad=globbed):
            yield f"{provider}:{shown}:{sym}"


def _uprobes_by_wildcard(head: str, rest: str, pid: int | None) -> Iterator[str]:
    """uprobes for a search whose provider part is a wildcard: those of a file named by path
    (``*:./app:*``), or of every file ``-p PID`` maps."""
    binary, _, func = rest.partition(":")
    if pid is None and "/" not in binary:
        return
    for provider in ("uprobe", "uretprobe"):
        if fnmatch.fnmatchcase(provider, head):
            yield from _uprobes(provider, binary, func, pid)


def matching(pattern: str, pid: int | None = None) -> Iterator[str]:
    """Every probe name matching the glob ``pattern`` (bpftrace's search syntax)."""
    if not any(c in pattern for c in "*?[") and ":" not in pattern:
        pattern = f"*{pattern}*"
    head, colon, rest = pattern.partition(":")
    if head in ("rawtracepoint", "rt", "fentry", "fexit") and colon and ":" not in rest:
        pattern = f"{head}:*:{rest}"  # the module part may be left out: rawtracepoint:sched_switch
    if colon and head in ("usdt", "U"):
        from purebpf.trace.usdt import listing
        yield from listing(pattern, pid)
        return
    if colon and head in ("uprobe", "uretprobe", "u", "ur"):
        provider = "uprobe" if head in ("uprobe", "u") else "uretprobe"
        binary, _, func = rest.partition(":")
        yield from _uprobes(provider, binary, func, pid)
        return
    for provider, gen in PROVIDERS.items():
        if colon and not fnmatch.fnmatchcase(provider, head):
            continue
        for name in gen():
            if fnmatch.fnmatchcase(name, pattern):
                yield name
    yield from _uprobes_by_wildcard(head if colon else "*", rest if colon else "", pid)
    yield from _usdt_by_wildcard(head if colon else "*", rest if colon else "", pattern, pid)


def _usdt_by_wildcard(head: str, rest: str, pattern: str, pid: int | None) -> Iterator[str]:
    """USDT probes for a search whose provider part is a wildcard: those of a file named by path
    (``*:./app:*``), or of every file ``-p PID`` maps."""
    if not fnmatch.fnmatchcase("usdt", head) or (pid is None and "/" not in rest.split(":")[0]):
        return
    from purebpf.trace.usdt import listing

    for name in listing("usdt:" + (rest or "*"), pid):
        if fnmatch.fnmatchcase(name, pattern):
            yield name


def _probe_arguments(name: str, debuginfo: tuple[str, ...] = (), pid: int | None = None) -> list[str]:
    """``-lv``: the arguments a probe's ``args`` has, as bpftrace lists them."""
    parts = name.split(":")
    if parts[0] in ("uprobe", "uretprobe") and len(parts) == 3:
        return _dwarf_arguments(parts[1], parts[2], debuginfo, pid)
    if parts[0] == "tracepoint" and len(parts) == 3:
        from purebpf.sys.tracepoint_format import tracepoint_fields

        try:
            return [f"    {f.c_type} {f.name}" for f in tracepoint_fields(parts[1], parts[2])]
        except Exception:  # noqa: BLE001 - a listing goes on past one unreadable format file
            return []
    if parts[0] in ("rawtracepoint", "fentry", "fexit"):
        return _btf_arguments(parts[0], parts[-1])
    if parts[0] == "kprobe":  # a kernel function's parameters, as for fentry
        return _btf_arguments("fentry", parts[-1])
    return []


def _dwarf_arguments(binary: str, func: str, debuginfo: tuple[str, ...], pid: int | None) -> list[str]:
    """A user-space function's parameters from its binary's DWARF (none without debug information)."""
    from purebpf.errors import BPFError
    from purebpf.links.symbols import resolve_binary
    from purebpf.symbols.dwarf import debug_info

    try:
        info = debug_info(str(resolve_binary(binary, pid)), debuginfo)
    except BPFError:
        return []
    function = info.functions.get(func) if info is not None else None
    if function is None:
        return []
    return [f"    {info.type_name(p.type)} {p.name}" for p in function.params]


def _btf_arguments(provider: str, func: str) -> list[str]:
    """A raw tracepoint's or kernel function's parameters from BTF (a raw tracepoint's first,
    internal ``void *__data`` left out), then fexit's ``retval``."""
    from purebpf.btf.format_c import declaration
    from purebpf.trace.structs import kernel_btf

    btf = kernel_btf()
    ids = btf.find_ids("__bpf_trace_" + func if provider == "rawtracepoint" else func, "func") if btf else []
    if not ids:
        return []
    proto = btf.resolve(btf.type_by_id(ids[0]).type)
    params = proto.params[1:] if provider == "rawtracepoint" else proto.params
    lines = [f"    {declaration(btf, p.type, p.name)}" for p in params]
    if provider == "fexit" and proto.return_type:
        lines.append(f"    {declaration(btf, proto.return_type, 'retval')}")
    return lines


def _program_probes(text: str, pid: int | None = None, debuginfo: tuple[str, ...] = ()) -> list[str]:
    """The attach points a program uses, expanded, in listing form."""
    from purebpf.trace.compiler import program_targets
    from purebpf.trace.probes import has_wildcard

    out = []
    for target in program_targets(text, pid=pid, debuginfo=debuginfo):
        if target.provider in ("uprobe", "uretprobe") and has_wildcard(target.target + target.func):
            continue  # a wildcard that matched nothing (kept for attach's "No matches" error): no probe to list
        if target.provider in ("interval", "profile", "software", "hardware"):
            out.append(f"{target.provider}:{target.target}:")
        elif target.provider in ("fentry", "fexit"):
            out.append(f"{target.provider}:{target.target or 'vmlinux'}:{target.func}")
        else:
            out.append(target.name)
    return list(dict.fromkeys(out))


def _struct_definition(spec: str) -> list[str]:
    """``-lv 'struct task_struct'``: the type's C definition from the kernel's BTF."""
    from purebpf.btf import BTF, render_c

    kind, _, name = spec.partition(" ")
    btf = BTF.load_kernel()
    ids = btf.find_ids(name.strip(), kind)
    if not ids:
        return []
    text = render_c(btf, [ids[0]], guard=False)
    head = f"{kind} {name.strip()} {{"
    start = text.find(head)
    if start < 0:
        return []
    end = text.find("\n};", start)
    body = text[start:end + 3] if end >= 0 else text[start:]
    return [f"vmlinux: {body.splitlines()[0]}"] + body.splitlines()[1:]


def list_probes(program: str | None, positional: list[str], *, verbose: bool = False,
                pid: int | None = None, out=None, debuginfo: tuple[str, ...] = ()) -> int:
    """What ``-l`` prints: probes of ``program`` / a program file, or those matching a search;
    ``debuginfo``: directories of separate debug files (``-lv`` lists uprobes' parameters from DWARF)."""
    out = out or sys.stdout
    names: list[str] = []
    if program is not None:
        names = _program_probes(program, pid, debuginfo)
    elif positional and os.path.isfile(positional[0]):
        with open(positional[0]) as f:
            names = _program_probes(f.read(), pid, debuginfo)
    else:
        search = positional[0] if positional else "*"
        if search.endswith(".bt") and not os.path.exists(search):
            print(f"WARNING: It appears that '{search}' is a filename but the file does not exist. "
                  f"Treating '{search}' as a search pattern.", file=sys.stderr)
        for pattern in search.split(","):
            pattern = pattern.strip()
            if pattern.startswith(("struct ", "union ", "enum ")):
                for line in _struct_definition(pattern):
                    out.write(line + "\n")
                continue
            names.extend(matching(pattern, pid))
    try:
        for name in names:
            out.write(name + "\n")
            if verbose:
                for line in _probe_arguments(name, debuginfo, pid):
                    out.write(line + "\n")
        out.flush()
    except BrokenPipeError:
        pass
    return 0
