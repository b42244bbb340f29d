"""``purebpf features``: what this kernel supports, in the sections of
``bpftool feature probe`` plus attach kinds, each "no" with its reason."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from purebpf.cli.output import add_json_flag, emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("features", help="what this kernel supports, found by trying",
                                   description="Probe program types, map types, helpers and attach kinds "
                                               "by trying them; results are cached until the next boot.")
    add_json_flag(parser)
    parser.add_argument("--refresh", action="store_true", help="probe again instead of using this boot's cache")
    parser.add_argument("--no-helpers", action="store_true", help="leave out the (long) helper lists in text")
    parser.set_defaults(func=run)


def _line(kind: str, feature) -> str:
    if feature.available:
        return f"eBPF {kind} {feature.name} is available"
    return f"eBPF {kind} {feature.name} is NOT available ({feature.reason})"


def render(report, helpers: bool = True) -> Iterator[str]:
    yield "Scanning eBPF program types..."
    yield from (_line("program_type", f) for f in report.program_types.values())
    yield ""
    yield "Scanning eBPF map types..."
    yield from (_line("map_type", f) for f in report.map_types.values())
    yield ""
    yield "Scanning attach kinds..."
    yield from (_line("attach_kind", f) for f in report.attach_kinds.values())
    if helpers:
        yield ""
        yield "Scanning eBPF helper functions..."
        for prog_type, found in report.helpers.items():
            yield f"eBPF helpers supported for program type {prog_type}:"
            yield from (f"\t- {name}" for name, f in found.items() if f.available)
    yield ""
    source = "cached for this boot" if report.from_cache else f"probed in {report.probe_seconds:.2f}s"
    yield f"Kernel {report.kernel}, {source}"


def run(args: argparse.Namespace) -> int:
    from purebpf import features

    report = features.probe_all(refresh=args.refresh)
    emit(args, report, lambda r: render(r, helpers=not args.no_helpers))
    return 0
