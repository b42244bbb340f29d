"""Entry point of the ``purebpf`` command.

Only the chosen subcommand's module is imported, so ``purebpf map list`` does
not pay for the BTF reader or the tracer.  Each subcommand module provides
``register(subparsers)`` and its parsers set ``func`` to the function to run.

Start-up is a feature: when the command comes first (``purebpf opensnoop -x``,
``purebpf trace -e ...``), only that command's parser is built.  The full
parser, with a placeholder for each of ~35 commands (each an argparse parser,
each looking up its gettext translations), is built for ``purebpf --help`` and
for errors.  A tool's own parser (``purebpf opensnoop -x``) does not even
import argparse unless it must show help or an error (see cli.flags).
"""

from __future__ import annotations

import sys

from purebpf._lazy import import_module
from purebpf.cli import tools as tool_cli
from purebpf.errors import BPFError

TYPE_CHECKING = False  # typing costs ~1.5 ms to import and is needed only by type checkers
if TYPE_CHECKING:
    import argparse

    from purebpf.cli.flags import FlagParser

# subcommand name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "trace": ("purebpf.cli.trace", "run a bpftrace program (compiled straight to eBPF)"),
    "run": ("purebpf.cli.run", "run a compiled BPF object or eunomia-bpf package, options from its globals"),
    "package": ("purebpf.cli.package", "write an eunomia-bpf package.json for a BPF object"),
    "agent": ("purebpf.cli.agent", "observability agent exporting Prometheus metrics"),
    "features": ("purebpf.cli.features", "what this kernel supports, found by trying"),
    "btf": ("purebpf.cli.btf", "read and render BTF (vmlinux.h)"),
    "prog": ("purebpf.cli.objects", "loaded BPF programs"),
    "map": ("purebpf.cli.objects", "BPF maps: list and dump"),
    "link": ("purebpf.cli.objects", "BPF links"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(prog="purebpf", description="eBPF toolkit in pure Python",
                                     epilog=tool_cli.epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    loaded: set[str] = set()
    for name, (module, help_) in SUBCOMMANDS.items():
        if name in sub.choices:  # a module registering several names (prog/map/link) added it
            continue
        if only is not None and module != SUBCOMMANDS.get(only, ("",))[0]:
            sub.add_parser(name, help=help_)
            continue
        if module in loaded:
            continue
        loaded.add(module)
        import_module(module).register(sub)
    tool_cli.register(sub, only)
    return parser


def build_command_parser(name: str) -> argparse.ArgumentParser:
    """The top-level parser with only subcommand ``name``'s module registered."""
    import argparse

    parser = argparse.ArgumentParser(prog="purebpf", description="eBPF toolkit in pure Python")
    import_module(SUBCOMMANDS[name][0]).register(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def _parse(argv: list[str]) -> tuple[argparse.ArgumentParser | FlagParser, argparse.Namespace]:
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and argv[0] == first:  # the command comes first: build its parser alone
        if first in SUBCOMMANDS:
            parser = build_command_parser(first)
            return parser, parser.parse_args(argv)
        tool = tool_cli.parser(first)
        if tool is not None:
            return tool, tool.parse_args(argv[1:])
    parser = build_parser(first if first in SUBCOMMANDS or first in tool_cli.names() else None)
    return parser, parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["trace"]:  # bpftrace's options, parsed by purebpf.cli.trace itself
            from purebpf.cli.trace import main as trace_main

            return trace_main(argv[1:])
        parser, args = _parse(argv)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 2
        return int(func(args) or 0)
    except BPFError as exc:
        print(f"purebpf: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
