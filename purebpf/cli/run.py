"""``purebpf run``: run a compiled BPF object (or an eunomia-bpf package) as a tool.

    purebpf run execsnoop.bpf.o                     # table of decoded ring buffer records
    purebpf run opensnoop.bpf.o --target-pid 42 -j  # .rodata option, JSON lines
    purebpf run biolat.bpf.o --hist hists --interval 1
    purebpf run package.json --duration 10
    purebpf run x.bpf.o -- ./workload arg           # stop when the workload exits

The object's globals become options, so the parser is built only once the
object is read: the subcommand takes its arguments raw and parses them here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from purebpf.errors import InvalidInputError

USAGE = "purebpf run OBJECT.bpf.o|package.json [options] [-- COMMAND ...]"


class _Parser(argparse.ArgumentParser):
    """Errors as one line (the CLI prints ``purebpf: error: ...``), not usage + message."""

    def error(self, message: str):  # type: ignore[override]
        raise InvalidInputError(f"{message} (see: {self.prog} --help)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run a compiled BPF object or eunomia-bpf package, with options from its globals",
        add_help=False, prefix_chars="\0", usage=USAGE)
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def _runner_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("runner options")
    g.add_argument("-j", "--json", action="store_true", help="print records as JSON lines")
    g.add_argument("--event-type", metavar="NAME", help="the struct the ring/perf buffer records are "
                   "(default: the type the object ties to the map, or struct event)")
    g.add_argument("--hist", metavar="MAP", action="append", default=[],
                   help="print MAP (log2 buckets: struct with __u32 slots[N], or an array map) as a histogram")
    g.add_argument("--linear", action="store_true", help="--hist maps are linear, not log2")
    g.add_argument("--unit", default="value", help="unit named in histogram headers (default: value)")
    g.add_argument("--interval", metavar="S", type=_seconds, help="print histograms every S seconds")
    g.add_argument("--duration", metavar="S", type=_seconds, help="stop after S seconds")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


def _split(argv: list[str]) -> tuple[str | None, list[str], list[str] | None]:
    """(object, options, command after ``--``)."""
    command = None
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1:] or None
    for i, arg in enumerate(argv):
        if not arg.startswith("-") and (arg.endswith((".o", ".json")) or os.path.isfile(arg)):
            return arg, argv[:i] + argv[i + 1:], command
    first = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if first is None:
        return None, argv, command
    return argv[first], argv[:first] + argv[first + 1:], command


def _generic_help() -> str:
    parser = _Parser(prog="purebpf run", usage=USAGE, description=(
        "Load a BPF object built with clang (or an eunomia-bpf package.json), attach every program whose "
        "section name says where, and print what it sends: ring buffer and perf buffer records decoded with "
        "their BTF struct, and histogram maps. The object's const volatile .rodata globals and .data/.bss "
        "globals become options: see 'purebpf run OBJECT --help'."))
    _runner_options(parser)
    return parser.format_help()


def run(args: argparse.Namespace) -> int:
    path, argv, command = _split(list(args.argv))
    if path is None:
        if any(a in ("-h", "--help") for a in argv):
            sys.stdout.write(_generic_help())
            return 0
        raise InvalidInputError(f"no BPF object given; usage: {USAGE}")
    return run_source(path, argv, command)


def run_source(path: str, argv: list[str], command: list[str] | None) -> int:
    from purebpf.object import BPFObject
    from purebpf.runner.options import add_to_parser, chosen, object_options
    from purebpf.runner.package import Sample, looks_like_package, read_package
    from purebpf.runner.session import RunConfig, Session

    package = None
    if looks_like_package(path):
        package = read_package(path)
        spec = package.read_object()
    else:
        from purebpf.elf import read_object
        spec = read_object(path)
    if package is not None:
        _apply_package_values(spec, package)
    options = object_options(spec)
    if package is not None:
        _apply_package_cmdargs(options, package)

    parser = _Parser(prog=f"purebpf run {path}", usage=f"purebpf run {path} [options] [-- COMMAND ...]",
                     description=(package.description() if package else None)
                     or f"Run {os.path.basename(path)}: attach its programs and print what they send.")
    _runner_options(parser)
    add_to_parser(parser, options, os.path.basename(path))
    opts = parser.parse_args(argv)

    for opt, value in chosen(opts, options):
        spec.set_initial(opt.name, value, (opt.section,))
    kind = "linear_hist" if opts.linear else "log2_hist"
    samples = [Sample(name, opts.interval or 0, kind, opts.unit) for name in opts.hist]
    event_type = opts.event_type
    if package is not None:
        given = {s.map_name for s in samples}
        samples += [s for s in package.samples() if s.map_name not in given and not opts.hist]
        event_type = event_type or package.export_type
    with _buffered_stdout() as out:
        config = RunConfig(json=opts.json, event_type=event_type, samples=samples, duration=opts.duration,
                           command=command, out=out)
        with BPFObject(spec) as obj:
            return Session(obj, config).run()


@contextlib.contextmanager
def _buffered_stdout() -> Iterator[TextIO]:
    """Records go out through our own buffer, flushed once per poll, whatever ``python -u``
    or PYTHONUNBUFFERED did to sys.stdout: one write(2) per record would cap the rate."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test harness, an IDE...
        yield sys.stdout
        return
    with open(fd, "w", buffering=1 << 16, closefd=False) as out:
        yield out


def _apply_package_values(spec: Any, package: Any) -> None:
    """A package variable's ``value`` (or ``cmdarg.default``) is its initial value."""
    for var in package.variables():
        value = var.get("value")
        cmdarg = var.get("cmdarg")
        if value is None and isinstance(cmdarg, dict):
            value = cmdarg.get("default")
        if value is None:
            continue
        try:
            spec.set_initial(var["name"], value)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{package.path}: variable '{var['name']}': {exc}") from None


def _apply_package_cmdargs(options: list, package: Any) -> None:
    by_name = {v["name"]: v for v in package.variables()}
    for opt in options:
        var = by_name.get(opt.name)
        if not var:
            continue
        cmdarg = var.get("cmdarg") if isinstance(var.get("cmdarg"), dict) else {}
        if cmdarg.get("long"):
            opt.flag = "--" + str(cmdarg["long"])
        if cmdarg.get("short"):
            opt.short = str(cmdarg["short"])
        opt.help = str(cmdarg.get("help") or var.get("description") or "")
