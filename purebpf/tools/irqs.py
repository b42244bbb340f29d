"""What hardirqs and softirqs share: their flags, their run loop and the
start of each summary.  Each tool builds its own programs (handlers by name,
soft vectors by number) and prints its own rows.
"""

from __future__ import annotations

from collections.abc import Callable

from purebpf.errors import InvalidInputError
from purebpf.tools import common
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse


def arguments(p: argparse.ArgumentParser) -> None:
    """-C, -d, -N, -T, [interval [count]] and -j, as both libbpf-tools spell them."""
    p.add_argument("-C", "--count", dest="events", action="store_true", help="show event counts instead of timing")
    p.add_argument("-d", "--distributed", action="store_true", help="show distributions as histograms")
    p.add_argument("-N", "--nanoseconds", action="store_true", help="output in nanoseconds")
    p.add_argument("-T", "--timestamp", action="store_true", help="include timestamp on output")
    common.add_interval_count(p)
    common.add_json(p)


def summary_start(out: common.Output, args: argparse.Namespace) -> tuple[str, str]:
    """Open one interval's summary (a blank line, the time with -T); returns (unit, time)."""
    out.text("")
    when = common.Clock.hms()
    if args.timestamp:
        out.text(cfmt("%-8s", when))
    return ("nsecs" if args.nanoseconds else "usecs"), when


def run(args: argparse.Namespace, kind: str, build: Callable[[Session, argparse.Namespace], object],
        print_summary: Callable[[common.Output, object, argparse.Namespace], None]) -> int:
    """Build the programs, then print a summary every interval; ``kind`` is "hard" or "soft"."""
    if args.events and args.distributed:
        raise InvalidInputError("-C and -d cannot be used together: counts or time histograms, not both")
    out = common.Output(args.json)
    with Session() as s:
        table = build(s, args)
        out.text(f"Tracing {kind} irq events... Hit Ctrl-C to end." if args.events
                 else f"Tracing {kind} irq event time... Hit Ctrl-C to end.")
        common.ready(out)
        common.run_loop(common.sleep_ms, out, interval=args.interval, count=args.count,
                        on_interval=lambda: print_summary(out, table, args))
    return 0
