"""``purebpf package``: write an eunomia-bpf ``package.json`` for a BPF object.

    purebpf package execsnoop.bpf.o -o execsnoop.json
    purebpf run execsnoop.json          # or: ecli run execsnoop.json

The package holds the object (base64 of its zlib-compressed bytes) and meta
generated from its BTF: the exported record type, maps (histogram maps marked
to be sampled), programs and their attach points, and the globals with their
C types and initial values.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "package", help="write an eunomia-bpf package.json for a BPF object",
        description="Write a self-contained eunomia-bpf package (package.json) for OBJECT: the object and "
                    "meta generated from its BTF, runnable by 'purebpf run' and eunomia-bpf's ecli.")
    p.add_argument("object", metavar="OBJECT.bpf.o")
    p.add_argument("-o", "--output", metavar="FILE", default="package.json",
                   help="where to write it ('-' for stdout; default: package.json)")
    p.add_argument("--event-type", metavar="NAME", help="the struct the ring/perf buffer records are")
    p.add_argument("--hist", metavar="MAP", action="append", default=[],
                   help="mark MAP to be printed as a log2 histogram")
    p.add_argument("--interval", metavar="S", type=float, default=1.0,
                   help="seconds between prints of --hist maps (default: 1)")
    p.add_argument("--brief", metavar="TEXT", help="one-line description, shown by 'purebpf run --help'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from purebpf.runner.package import Sample, write_package

    samples = [Sample(name, args.interval) for name in args.hist]
    doc = {"brief": args.brief} if args.brief else None
    document = write_package(args.object, args.output, samples=samples, event_type=args.event_type, doc=doc)
    if args.output != "-":
        meta = document["meta"]
        types = ", ".join(t["name"] for t in meta["export_types"]) or "none"
        print(f"wrote {args.output}: {document['bpf_object_size']} byte object, "
              f"{len(meta['bpf_skel']['progs'])} programs, {len(meta['bpf_skel']['maps'])} maps, "
              f"exported type: {types}", file=sys.stderr)
    return 0
