"""Auto-attach: the link a program's section name asks for, when the name says enough.

``tp/syscalls/sys_enter_getpid`` names a tracepoint, ``uprobe/bin/bash:readline``
a function in a binary; ``xdp`` or ``cgroup_skb/ingress`` need an interface or
a cgroup the name does not give, so they are left for the caller to attach.
"""

from __future__ import annotations

import re

from purebpf.elf.sections import ProgSection
from purebpf.errors import InvalidInputError
from purebpf.links import Link
from purebpf.programs import Program

# uprobe/PATH:FUNC[+OFF] or uprobe/PATH:OFFSET (libbpf's syntax)
_UPROBE = re.compile(r"^(?P<path>[^:]+):(?P<func>[^+]+?)(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?$")
_KPROBE = re.compile(r"^(?P<func>[^+]+?)(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?$")


def can_auto_attach(section: ProgSection) -> bool:
    return section.definition.auto_attach is not None and (
        bool(section.extras) or section.definition.auto_attach in ("tracing", "lsm"))


def auto_attach(prog: Program, section: ProgSection) -> Link | None:
    """Attach ``prog`` as its section name says; None when the name does not say where."""
    kind = section.definition.auto_attach
    extras = section.extras
    if not can_auto_attach(section):
        return None
    if kind == "tracepoint":
        group, sep, name = extras.partition("/")
        if not sep or not name:
            raise InvalidInputError(f"SEC(\"{section.name}\"): expected tracepoint/<category>/<name>")
        from purebpf.links import Tracepoint
        return Tracepoint(prog, group, name)
    if kind == "raw_tp":
        from purebpf.links import RawTracepoint
        return RawTracepoint(prog, extras)
    if kind == "tracing":
        from purebpf.links import TpBtf, Tracing
        return TpBtf(prog) if section.prefix_is("tp_btf") else Tracing(prog)
    if kind == "lsm":
        from purebpf.links import Lsm
        return Lsm(prog)
    if kind == "kprobe":
        m = _KPROBE.match(extras)
        if not m:
            raise InvalidInputError(f"SEC(\"{section.name}\"): expected kprobe/<function>[+<offset>]")
        from purebpf.links import Kprobe
        return Kprobe(prog, m["func"], offset=int(m["off"] or "0", 0),
                      retprobe=section.prefix_is("kretprobe"))
    if kind == "uprobe":
        m = _UPROBE.match(extras)
        if not m:
            raise InvalidInputError(f"SEC(\"{section.name}\"): expected uprobe/<path>:<function>[+<offset>]")
        from purebpf.links import Uprobe
        func: str | int = m["func"]
        if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", func):
            func = int(func, 0)
        return Uprobe(prog, m["path"], func, offset=int(m["off"] or "0", 0),
                      retprobe=section.prefix_is("uretprobe"))
    return None
