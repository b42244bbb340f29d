"""``purebpf btf dump``: BTF as C (a whole vmlinux.h, or chosen types with their dependencies), raw or JSON.

    purebpf btf dump > vmlinux.h
    purebpf btf dump 'struct task_struct' pid_t
    purebpf btf dump --format raw --file prog.bpf.o
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from purebpf.cli.output import add_json_flag
from purebpf.errors import InvalidInputError, NotFoundError

_PREFIXES = {"struct": ("STRUCT",), "union": ("UNION",), "enum": ("ENUM", "ENUM64"), "typedef": ("TYPEDEF",),
             "func": ("FUNC",), "var": ("VAR",)}
_CODE_KINDS = ("FUNC", "VAR", "DATASEC", "DECL_TAG")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("btf", help="read and render BTF (vmlinux.h)",
                                   description="Read BTF and print it as C, raw bpftool-style lines or JSON.")
    sub = parser.add_subparsers(dest="btf_command", metavar="COMMAND")
    dump = sub.add_parser("dump", help="print types as C (default: a whole vmlinux.h), raw lines or JSON",
                          description="Print BTF types. With no TYPE: all of them (as C: a complete vmlinux.h). "
                                      "TYPE is a name ('task_struct', 'struct foo', 'enum bar') or a type id.")
    dump.add_argument("--format", choices=("c", "raw"), default="c", help="C declarations (default) or raw lines")
    dump.add_argument("--file", metavar="PATH",
                      help="raw BTF or an ELF object with .BTF (default /sys/kernel/btf/vmlinux)")
    dump.add_argument("--base", metavar="PATH",
                      help="base BTF of a split BTF file (default: vmlinux for /sys/kernel/btf/<module>)")
    add_json_flag(dump)
    dump.add_argument("types", nargs="*", metavar="TYPE", help="types to print, with what they depend on (C)")
    dump.set_defaults(func=_dump)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _open(args: argparse.Namespace):
    from purebpf.btf import BTF
    from purebpf.btf.kernel import SYSFS_BTF, load_kernel
    if not args.file:
        return load_kernel()
    base = None
    if args.base:
        base = BTF.from_file(args.base)
    elif os.path.dirname(os.path.abspath(args.file)) == SYSFS_BTF and os.path.basename(args.file) != "vmlinux":
        base = load_kernel()
    return BTF.from_file(args.file, base=base)


def _select(btf, words: list[str]) -> list[int]:
    """Type ids named by the command line; ``struct`` etc. may be a separate word or part of the name."""
    ids: list[int] = []
    pending: str | None = None
    for word in words:
        parts = word.split(None, 1)
        if len(parts) == 2 and parts[0] in _PREFIXES:
            ids.extend(_lookup(btf, parts[1], parts[0]))
        elif word in _PREFIXES and pending is None:
            pending = word
            continue
        else:
            ids.extend(_lookup(btf, word, pending))
        pending = None
    if pending is not None:
        raise InvalidInputError(f"'{pending}' needs a type name after it")
    return list(dict.fromkeys(ids))


def _lookup(btf, name: str, prefix: str | None) -> list[int]:
    name = name.strip()
    if name.isdigit():
        type_id = int(name)
        if not 0 < type_id < len(btf):
            raise NotFoundError(f"BTF type id {type_id} out of range 1..{len(btf) - 1}")
        return [type_id]
    found = btf.find_ids(name)
    if prefix is not None:
        found = [i for i in found if btf.kind_of(i).name in _PREFIXES[prefix]]
    else:
        types_only = [i for i in found if btf.kind_of(i).name not in _CODE_KINDS]
        found = types_only or found
    if not found:
        what = f"{prefix} {name}" if prefix else name
        raise NotFoundError(f"no BTF type {what!r} in {btf.name or 'the kernel BTF'}; "
                            "check the spelling (names are case-sensitive)")
    return found


def _as_json(t) -> dict:
    return {"kind": t.kind.name, **dataclasses.asdict(t)}


def _dump(args: argparse.Namespace) -> int:
    btf = _open(args)
    ids = _select(btf, args.types) if args.types else None
    out = sys.stdout
    if args.json:
        chosen = (btf.type_by_id(i) for i in ids) if ids is not None else iter(btf)
        out.write("[")
        for n, t in enumerate(chosen):
            out.write(("," if n else "") + json.dumps(_as_json(t)))
        out.write("]\n")
    elif args.format == "raw":
        from purebpf.btf.format_raw import raw_lines
        for line in raw_lines(btf, ids):
            out.write(line + "\n")
    else:
        from purebpf.btf.format_c import render_c
        out.write(render_c(btf, ids))
    return 0
