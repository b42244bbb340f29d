"""``purebpf trace``: run a bpftrace program, with bpftrace's flags.

    purebpf trace -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
    purebpf trace -c 'ls /' script.bt
    purebpf trace -l 'tracepoint:sched:*'

bpftrace parses its command line with getopt (options may follow the program
file, ``-lv`` bundles flags, ``--`` ends options), so this subcommand takes its
arguments raw and parses them the same way instead of through argparse.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

from purebpf.errors import BPFError, InvalidInputError, VerifierError

NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"
PID_MAX_LIMIT = 4 * 1024 * 1024  # the kernel's PID_MAX_LIMIT on 64-bit
BPF_LOG_STATS = 4  # verifier log level: statistics only

USAGE = """\
USAGE:
    purebpf trace [options] FILENAME [ARGS...]
    purebpf trace [options] - <stdin input>
    purebpf trace [options] -e 'program' [ARGS...]

Runs a bpftrace program, compiled straight to eBPF in Python (no LLVM).

OPTIONS:
    -e PROGRAM          the program text
    -c, --cmd CMD       run CMD once probes are attached; stop when it ends
    -p, --pid PID       trace this process (uprobes) and stop when it exits
    -l, --list          list probes matching the search argument (or the program's probes)
    -v                  verbose: verifier statistics; with -l, probe arguments
    -f, --format FMT    output format: text (default) or json
    -o, --output FILE   write the output to FILE
    -q                  quiet: do not print the "Attached N probes" line
    -d, --dry-run       compile and load, print the tree and instructions, do not attach
    -B MODE             output buffering: line (default), full or none
    -k                  warn at run time when a map read finds no element
    --debuginfo DIR     also look for uprobes' separate debug files in DIR (repeatable)
    --traceable-functions FILE
                        the kernel functions kprobes may use (default: ftrace's available_filter_functions)
    --unsafe            allow unsafe functions (system, cat's cousins, signal)
    --no-warnings       do not print warnings
    --info              print what this kernel and purebpf trace support
    --aot FILE          check the program and write it to FILE as a command of its own
    -V, --version       print the version
    -h, --help          print this help
    --                  end of options: what follows is for the program ($1 ... and getopt())
"""

# short options: those taking a value, and flags
SHORT_VALUE = set("eBcpfoId")
SHORT_FLAG = set("lvqkhVs")
LONG_VALUE = {"cmd": "c", "pid": "p", "format": "f", "output": "o", "include": "include",
              "probe-filter": "probe-filter", "mode": "mode", "aot": "aot", "debuginfo": "debuginfo",
              "traceable-functions": "traceable-functions"}
LONG_FLAG = {"list": "l", "help": "h", "version": "V", "unsafe": "unsafe", "no-warnings": "no-warnings",
             "info": "info", "dry-run": "dry-run", "usdt-file-activation": "usdt-file-activation",
             "verify-llvm-ir": "ignored"}


class UsageError(Exception):
    pass


@dataclass
class Options:
    program: str | None = None
    positional: list[str] = field(default_factory=list)
    after_dashdash: list[str] = field(default_factory=list)
    command: str | None = None
    pid_text: str | None = None
    list: bool = False
    verbose: bool = False
    format: str = "text"
    output: str | None = None
    quiet: bool = False
    dry_run: bool = False
    debug: bool = False
    buffering: str = "line"
    unsafe: bool = False
    no_warnings: bool = False
    info: bool = False
    version: bool = False
    help: bool = False
    probe_filter: str | None = None
    helper_checks: bool = False
    aot: str | None = None
    includes: list[str] = field(default_factory=lambda: [])  # "list" is a field name here
    debuginfo: list[str] = field(default_factory=lambda: [])  # --debuginfo DIR (repeatable)
    traceable: str | None = None  # --traceable-functions FILE: the kernel functions kprobes may use


def parse_options(argv: list[str]) -> Options:
    """getopt_long with argument permutation, as bpftrace reads its command line."""
    opts = Options()
    i = 0

    def value(name: str, inline: str | None) -> str:
        nonlocal i
        if inline is not None:
            return inline
        i += 1
        if i >= len(argv):
            raise UsageError(f"option requires an argument -- '{name}'")
        return argv[i]

    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            opts.after_dashdash = argv[i + 1:]
            break
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            if name in LONG_VALUE:
                _set(opts, LONG_VALUE[name], value(name, inline if eq else None))
            elif name in LONG_FLAG and not eq:
                _set(opts, LONG_FLAG[name], None)
            else:
                raise UsageError(f"unrecognized option '{arg}'")
        elif arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                c = arg[j]
                if c in SHORT_VALUE:
                    rest = arg[j + 1:]
                    if c == "d" and not rest and (i + 1 >= len(argv) or argv[i + 1].startswith("-")):
                        _set(opts, "d", "all")  # bare -d: debug output
                    else:
                        _set(opts, c, value(c, rest or None))
                    break
                if c in SHORT_FLAG:
                    _set(opts, c, None)
                    j += 1
                    continue
                raise UsageError(f"invalid option -- '{c}'")
        else:
            opts.positional.append(arg)
        i += 1
    return opts


# options that only switch something on, by key, and the Options field they set
_SWITCHES = {"d": "debug", "dry-run": "dry_run", "l": "list", "v": "verbose", "q": "quiet", "h": "help",
             "V": "version", "unsafe": "unsafe", "no-warnings": "no_warnings", "info": "info", "k": "helper_checks"}
# options that take a value, by key, and the Options field it goes to
_VALUES = {"c": "command", "p": "pid_text", "o": "output", "probe-filter": "probe_filter", "aot": "aot",
           "traceable-functions": "traceable"}


def _set(opts: Options, key: str, val: str | None) -> None:
    if key == "e":  # the last -e is the program, as in bpftrace
        opts.program = val
    elif key == "f":
        opts.format = val or ""
    elif key == "B":
        opts.buffering = val or ""
    elif key == "include":
        opts.includes.append(val or "")
    elif key == "debuginfo":
        opts.debuginfo.append(val or "")
    elif key in _VALUES:
        setattr(opts, _VALUES[key], val)
    elif key in _SWITCHES:
        setattr(opts, _SWITCHES[key], True)
    # -k, -s, -I, --include, --mode, --usdt-file-activation: accepted, no effect


def register(subparsers: argparse._SubParsersAction) -> None:
    # '\0' as the only prefix character: argparse hands every argument through untouched
    p = subparsers.add_parser(
        "trace", help="run a bpftrace program (compiled straight to eBPF)", add_help=False, prefix_chars="\0",
        description="Run a bpftrace program: the same language and output as bpftrace, compiled to eBPF "
                    "in Python with no LLVM (purebpf trace -h for the options).")
    p.add_argument("argv", nargs="*")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    argv = list(args.argv)
    # argparse drops a '--'; bpftrace passes what follows it to the program, so read it back from sys.argv
    if "--" in sys.argv and "trace" in sys.argv:
        argv = sys.argv[sys.argv.index("trace") + 1:]
    return main(argv)


def main(argv: list[str]) -> int:
    try:
        opts = parse_options(argv)
    except UsageError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        print(USAGE, end="", file=sys.stderr)
        return 1
    try:
        return _main(opts)
    except VerifierError as exc:
        _report_rejection(exc)
        return 1
    except BPFError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


def _report_rejection(exc: VerifierError) -> None:
    """A generated program the verifier refuses is a purebpf bug (unless the kernel lacks a helper):
    show where, so the report can be acted on."""
    from purebpf.programs.rejection import rejection_listing, summary

    print(f"ERROR: {summary(exc)}", file=sys.stderr)
    listing = rejection_listing(exc)
    if listing:
        print(f"{listing}\nThis is a bug in purebpf's code generation: please report it with the program and the "
              "listing above (-d prints the whole program).", file=sys.stderr)


def _main(opts: Options) -> int:
    if opts.help:
        print(USAGE, end="")
        return 0
    if opts.version:
        from purebpf.trace.info import version_line
        print(version_line())
        return 0
    if opts.info:
        return _info()
    if opts.format not in ("text", "json"):
        raise InvalidInputError(f'Invalid output format "{opts.format}"\nValid formats: json, text')
    if opts.buffering not in ("line", "full", "none"):
        raise InvalidInputError(f"Invalid buffering mode: {opts.buffering} (line, full or none)")
    pid = _pid(opts.pid_text) if opts.pid_text is not None else None
    if opts.list:
        from purebpf.trace.listing import list_probes
        return list_probes(opts.program, opts.positional, verbose=opts.verbose, pid=pid,
                           debuginfo=tuple(opts.debuginfo))
    text, name, params = _source(opts)
    return _run_program(opts, text, name, params, pid)


def _pid(text: str) -> int:
    """bpftrace's pid validation, with its wording."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        raise InvalidInputError(f"Failed to parse pid: invalid integer: {text}")
    if digits != len(text):
        raise InvalidInputError(f"Failed to parse pid: invalid trailing bytes: {text}")
    pid = int(text)
    if not 0 < pid <= PID_MAX_LIMIT:
        raise InvalidInputError(f"Pid out of range: {pid}")
    if not os.path.exists(f"/proc/{pid}"):
        raise InvalidInputError(f"No such process: {pid}")
    return pid


def _source(opts: Options) -> tuple[str, str, list[str]]:
    """The program text, the name errors are reported under, and the positional parameters."""
    params = list(opts.positional)
    if opts.program is not None:
        text, name = opts.program, "stdin"
    elif not params:
        raise InvalidInputError("No program specified: use -e 'PROGRAM', a program file or - for stdin")
    else:
        path = params.pop(0)
        if path == "-":
            text, name = sys.stdin.read(), "stdin"
        else:
            try:
                with open(path) as f:
                    text = f.read()
            except OSError as exc:
                raise InvalidInputError(f"failed to open file '{path}': {exc.strerror}") from None
            name = path
    params += [a for a in opts.after_dashdash if not a.startswith("--")]
    return text, name, params


def _compile_options(opts: Options) -> list[str]:
    """The options that change how a program compiles, as they are written on the command line."""
    baked = [flag for flag, on in (("--unsafe", opts.unsafe), ("-k", opts.helper_checks)) if on]
    for path in opts.includes:
        baked += ["--include", path]
    return baked


def _named_options(opts: Options) -> dict[str, str]:
    named = {}
    for arg in opts.after_dashdash:
        if arg.startswith("--") and len(arg) > 2:
            key, eq, val = arg[2:].partition("=")
            named[key] = val if eq else "true"
    return named


def _run_program(opts: Options, text: str, name: str, params: list[str], pid: int | None) -> int:
    from purebpf.trace.compiler import compile_program
    from purebpf.trace.location import ProgramError

    child = None
    if opts.command:
        from purebpf.trace.child import HeldChild
        child = HeldChild.spawn(opts.command)
    try:
        try:
            program = compile_program(text, name=name, params=params, unsafe=opts.unsafe, cpid=child.pid if child
                                      else 0, named=_named_options(opts), warnings=not opts.no_warnings,
                                       probe_filter=opts.probe_filter, includes=tuple(opts.includes),
                                       helper_checks=opts.helper_checks, pid=pid,
                                       debuginfo=tuple(opts.debuginfo), traceable=opts.traceable)
        except ProgramError as exc:
            print(exc, file=sys.stderr)
            return 1
        if program.warnings and not opts.no_warnings:
            print(program.warnings, file=sys.stderr)
        if opts.debug and not opts.dry_run:
            return _debug(program)
        if opts.aot:
            from purebpf.trace.aot import write_executable
            write_executable(opts.aot, text, _compile_options(opts))
            return 0
        return _trace(opts, program, pid, child)
    finally:
        if child is not None:
            child.kill()


def _trace(opts: Options, program, pid: int | None, child) -> int:
    from purebpf.trace.runtime import Tracer

    _take_bpftrace_name()
    json_output = opts.format == "json"
    out = _output_stream(opts)
    try:
        with Tracer(program, out=out, json_output=json_output, pid=pid, unsafe=opts.unsafe,
                    warnings=not opts.no_warnings, log_level=BPF_LOG_STATS if opts.verbose else 0,
                    buffering=opts.buffering) as tracer:
            if opts.verbose:
                _verifier_stats(tracer)
            if opts.dry_run:
                return 0
            return tracer.run(child=child, on_attached=lambda n: _attached(n, json_output, opts.quiet, out))
    finally:
        if out is not sys.stdout:
            out.close()


def _output_stream(opts: Options):
    """Where the program's output goes: -o FILE, else stdout; with ``-B full`` through a buffer of
    our own (stdout may be unbuffered, PYTHONUNBUFFERED), written out when full or at the end."""
    if opts.output:
        return open(opts.output, "w")  # noqa: SIM115 - the caller closes it
    if opts.buffering == "full":
        return open(sys.stdout.fileno(), "w", buffering=1 << 16, closefd=False)  # noqa: SIM115 - closed by caller
    return sys.stdout


def _take_bpftrace_name() -> None:
    """BEGIN and END run in this process, so their ``comm`` is ours: scripts commonly filter
    ``comm != "bpftrace"`` to leave the tracer out, and signal it with ``kill $(pidof bpftrace)``,
    so the tracer answers to that name."""
    from purebpf.sys.process_name import rename_process
    rename_process("bpftrace")


def _verifier_stats(tracer) -> None:
    """``-v``: the kernel verifier's statistics for each loaded program (asked for with BPF_LOG_STATS)."""
    for probe in tracer.program.probes:
        prog = tracer.progs[probe.index]
        log = (prog.verifier_log or "").strip()
        print(f"\nProgram ID: {prog.id}\nThe verifier log for {probe.target.name} ({len(probe.insns)} instructions):",
              file=sys.stderr)
        print(log or "(the kernel returned no statistics)", file=sys.stderr)


def _attached(count: int, json_output: bool, quiet: bool, out) -> None:
    if not quiet:
        if json_output:
            out.write(f'{{"type": "attached_probes", "count": {count}, "data": {{"probes": {count}}}}}\n')
            out.flush()
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


def _info() -> int:
    from purebpf.trace.info import info_lines

    print("\n".join(info_lines()))
    return 0
