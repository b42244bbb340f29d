"""fentry/fexit attach points: which kernel functions a ``fentry:[MODULE:]FUNC`` names.

A function can be traced through a trampoline only if the kernel both describes it in BTF (the
program is verified against its prototype) and lists it in ``available_filter_functions`` (it is
not inlined or ``notrace``); wildcards expand over the functions that are both, as bpftrace does.
``fentry:bpf:[ID:]NAME`` names a function of a loaded BPF program instead, as its BTF names it.
"""

from __future__ import annotations

import fnmatch

from purebpf.errors import BPFError, NotFoundError
from purebpf.trace.probes import ProbeError, ProbeTarget, has_wildcard

VMLINUX = "vmlinux"


def traceable(path: str | None = None) -> dict[str, set[str]]:
    """module ("vmlinux" for the kernel itself) -> the functions ftrace can trace in it (the list
    purebpf.trace.kprobes reads for kprobes too); empty when the list cannot be read."""
    from purebpf.trace.kprobes import TRACEABLE, traceable_functions

    by_module: dict[str, set[str]] = {}
    for name, modules in traceable_functions(path or TRACEABLE).items():
        for module in modules:
            by_module.setdefault(module, set()).add(name)
    return by_module


def _btf_functions(btf) -> set[str]:
    """Every function a BTF object describes (the fallback when ftrace's list is unreadable)."""
    from purebpf.btf.kinds import Kind
    return {btf.name_of(i) for i in btf.ids(include_base=False) if btf.kind_of(i) == Kind.FUNC}


def _btf(module: str):
    from purebpf.btf.kernel import load_module_btf
    try:
        return load_module_btf(module)
    except BPFError:
        return None


def in_btf(module: str, func: str) -> bool:
    btf = _btf(module or VMLINUX)
    return btf is not None and bool(btf.find_ids(func, "func"))


def expand(target: ProbeTarget, path: str | None = None) -> list[ProbeTarget]:
    """The concrete functions a wildcard fentry/fexit target matches (sorted; none: empty)."""
    module_glob = target.target or VMLINUX
    listed = traceable(path)
    if not listed:  # no ftrace list (no tracefs, or not readable): what BTF describes
        from purebpf.btf.kernel import module_names
        listed = {m: set() for m in [VMLINUX, *module_names()] if fnmatch.fnmatchcase(m, module_glob)}
        for module in listed:
            btf = _btf(module)
            listed[module] = _btf_functions(btf) if btf is not None else set()
    out = []
    for module, names in sorted(listed.items()):
        if not fnmatch.fnmatchcase(module, module_glob):
            continue
        matches = sorted(n for n in names if fnmatch.fnmatchcase(n, target.func))
        if not matches:
            continue
        btf = _btf(module)
        if btf is None:
            continue
        keep = "" if module == VMLINUX else module
        out.extend(ProbeTarget(target.provider, keep, name) for name in matches if btf.find_ids(name, "func"))
    return out


def check(target: ProbeTarget) -> None:
    """Raise ProbeError, with bpftrace's message, when the function does not exist for fentry."""
    module = target.target or VMLINUX
    if not in_btf(module, target.func):
        where = f"{target.target}:" if target.target else ""
        raise ProbeError(f"No matches for {target.provider} {where}{target.func}.")


def attach_ids(module: str, func: str) -> tuple[int, int]:
    """(BTF id of ``func`` in ``module``'s BTF, id of that loaded BTF object) for loading a program on
    a module's function: the kernel takes the object's fd with the id."""
    btf = _btf(module)
    ids = [i for i in (btf.find_ids(func, "func") if btf is not None else []) if i >= btf.first_id]
    if not ids:
        raise NotFoundError(f"fentry target '{module}:{func}' not found: module {module}'s BTF has no func '{func}'")
    return ids[0], module_btf_id(module)


def module_btf_id(module: str) -> int:
    """The id of the loaded BTF object of kernel module ``module`` (its fd is what the kernel takes)."""
    from purebpf.maps.btf_codec import btf_bytes
    from purebpf.sys.objects import iter_ids

    for btf_id in iter_ids("btf"):
        try:
            _, kernel, name = btf_bytes(btf_id)
        except BPFError:
            continue
        if kernel and name == module:
            return btf_id
    raise NotFoundError(f"no loaded BTF object for kernel module {module} (is it loaded? see lsmod)")


def is_bpf_program(target: ProbeTarget) -> bool:
    """``fentry:bpf:[ID:]NAME``: a function of a loaded BPF program rather than of the kernel."""
    return is_fentry(target) and (target.target == "bpf" or target.target.startswith("bpf:"))


def expand_bpf(target: ProbeTarget) -> list[ProbeTarget]:
    """The functions of loaded BPF programs a ``fentry:bpf:[ID:]NAME`` names (NAME and ID may be globs),
    one ``bpf:ID``/NAME target each, by program id: the program's BTF names its functions (bpftrace's
    and purebpf's programs are named after their probes, e.g. ``interval_us_100000_1``)."""
    from purebpf.links.prog_target import loaded_functions

    want_id = target.target.partition(":")[2] or "*"
    return [ProbeTarget(target.provider, f"bpf:{f.prog_id}", f.name) for f in loaded_functions()
            if fnmatch.fnmatchcase(str(f.prog_id), want_id) and fnmatch.fnmatchcase(f.name, target.func)]


def bpf_function(target: ProbeTarget):
    """The :class:`~purebpf.links.prog_target.ProgFunction` a concrete ``fentry:bpf:ID:NAME`` names
    (ProbeError when that program or function is gone)."""
    from purebpf.links.prog_target import find_function
    from purebpf.sys import FD
    from purebpf.sys.objects import fd_by_id

    try:
        fd = FD(fd_by_id("prog", int(target.target.partition(":")[2])))
    except (BPFError, ValueError):
        raise ProbeError(f"No matches for {target.provider} {target.target}:{target.func}.") from None
    try:
        return find_function(fd.raw, target.func)
    except BPFError:
        raise ProbeError(f"No matches for {target.provider} {target.target}:{target.func}.") from None
    finally:
        fd.close()


def is_fentry(target: ProbeTarget) -> bool:
    return target.provider in ("fentry", "fexit")


def needs_expansion(target: ProbeTarget) -> bool:
    return is_fentry(target) and has_wildcard(target.target + target.func)
