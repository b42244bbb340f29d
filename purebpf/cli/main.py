"""Entry point of the ``purebpf`` command.

Only the chosen subcommand's module is imported, so ``purebpf map list`` does
not pay for the BTF reader or the tracer.  Each subcommand module provides
``register(subparsers)`` and its parsers set ``func`` to the function to run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from purebpf.cli import tools as tool_cli
from purebpf.errors import BPFError

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
        importlib.import_module(module).register(sub)
    tool_cli.register(sub, only)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in SUBCOMMANDS or first in tool_cli.names() else None)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
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
