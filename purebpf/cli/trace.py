"""``purebpf trace``: run a bpftrace program, with bpftrace's flags.

    purebpf trace -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
    purebpf trace -c 'ls /' script.bt
    purebpf trace -l 'tracepoint:sched:*'
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shlex
import sys

from purebpf.errors import InvalidInputError, NotFoundError

NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "trace", help="run a bpftrace program (compiled straight to eBPF)",
        description="Run a bpftrace program: the same language and output as bpftrace, compiled to eBPF "
                    "in Python with no LLVM.")
    p.add_argument("-e", dest="program", metavar="PROGRAM", help="the program text")
    p.add_argument("file", nargs="?", help="a program file (when -e is not given)")
    p.add_argument("params", nargs="*", help="positional parameters $1, $2 ...")
    p.add_argument("-c", dest="command", metavar="CMD", help="run CMD once probes are attached; stop when it ends")
    p.add_argument("-p", dest="pid", type=int, metavar="PID", help="trace this process (uprobes) until it exits")
    p.add_argument("-l", dest="list", nargs="?", const="*", metavar="PATTERN", help="list probes matching PATTERN")
    p.add_argument("-f", dest="format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("-o", dest="output", metavar="FILE", help="write the output to FILE")
    p.add_argument("-v", dest="verbose", action="store_true", help="verbose: show verifier statistics")
    p.add_argument("-d", dest="debug", action="store_true", help="print the tree and the instructions; do not run")
    p.add_argument("--unsafe", action="store_true", help="allow unsafe functions (system, cat)")
    p.add_argument("-B", dest="buffering", choices=("line", "full", "none"), default="line",
                   help="output buffering")
    p.add_argument("--info", action="store_true", help="print what this kernel supports for tracing")
    p.set_defaults(func=run)


def _source(args: argparse.Namespace) -> tuple[str, str, list[str]]:
    if args.program is not None:
        params = ([args.file] if args.file else []) + args.params
        return args.program, "stdin", params
    if not args.file:
        raise InvalidInputError("no program given: use -e 'PROGRAM' or a program file (see purebpf trace -h)")
    try:
        with open(args.file) as f:
            return f.read(), args.file, args.params
    except OSError as exc:
        raise NotFoundError(f"cannot read program file {args.file}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    if args.info:
        return _info()
    if args.list is not None:
        return _list(args.list)
    from purebpf.trace.compiler import compile_program
    from purebpf.trace.location import ProgramError

    text, name, params = _source(args)
    try:
        program = compile_program(text, name=name, params=params)
    except ProgramError as exc:
        print(exc, file=sys.stderr)
        return 1
    if program.warnings:
        print(program.warnings, file=sys.stderr)
    if args.debug:
        return _debug(program)

    from purebpf.trace.runtime import Tracer

    out = open(args.output, "w") if args.output else sys.stdout  # noqa: SIM115 - closed below
    try:
        with Tracer(program, out=out, json_output=args.format == "json", pid=args.pid) as tracer:
            return tracer.run(command=shlex.split(args.command) if args.command else None,
                              on_attached=lambda n: _attached(n, args.format == "json", out))
    finally:
        if out is not sys.stdout:
            out.close()


def _attached(count: int, json_output: bool, out) -> None:
    if json_output:
        out.write('{"type": "attached_probes", "data": {"probes": %d}}\n' % count)
    else:
        print(f"Attached {count} probe{'s' if count != 1 else ''}", file=sys.stderr)
    if os.environ.get(NOTIFY) == "1":
        print(NOTIFY, flush=True)


def _debug(program) -> int:
    from purebpf.asm import disassemble
    from purebpf.trace.printer import dump

    print(dump(program.ast), end="")
    for probe in program.probes:
        print(f"\n{probe.target.name}:")
        print(disassemble(probe.insns))
    return 0


def _list(pattern: str) -> int:
    from purebpf.sys.tracepoint_format import list_tracepoints

    if ":" not in pattern:
        pattern = "*" + pattern + "*" if "*" not in pattern else pattern
    provider, _, rest = pattern.partition(":")
    if provider in ("tracepoint", "t", "*") or not rest:
        for cat, name in list_tracepoints():
            full = f"tracepoint:{cat}:{name}"
            if fnmatch.fnmatchcase(full, pattern) or fnmatch.fnmatchcase(f"{cat}:{name}", pattern):
                print(full)
    if provider in ("uprobe", "u"):
        from purebpf.links.symbols import resolve_binary, symbol_table

        binary, _, func = rest.partition(":")
        path = resolve_binary(binary)
        for sym in sorted(symbol_table(path).functions()):
            if fnmatch.fnmatchcase(sym, func or "*"):
                print(f"uprobe:{path}:{sym}")
    return 0


def _info() -> int:
    from purebpf.features import probe_all

    report = probe_all()
    print("Kernel helpers / features (probed by loading programs):")
    for section in report.sections():
        for item in section.items:
            print(f"  {item.name}: {'yes' if item.available else 'no'}")
    return 0
