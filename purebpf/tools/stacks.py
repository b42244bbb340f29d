"""Stacks for profile, offcputime and memleak: frames out of a stack trace
map, named by :mod:`purebpf.symbols`, merged, printed as bcc's multi-line
stacks or as folded lines for flame graphs; and the run the two stack
counting tools share (:func:`count_stacks`)."""

from __future__ import annotations

from dataclasses import dataclass

from purebpf.symbols import UNKNOWN, Symbolizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

__all__ = ["UNKNOWN", "Sample", "Symbolizer", "count_stacks", "folded_line", "merge", "report", "stack_frames"]


def count_stacks(args: argparse.Namespace, activity: str, tool: str, build: Callable, report_counts: Callable) -> int:
    """profile's and offcputime's run: ``build(session)`` gives (counts, stack map, source); say
    what is traced (not with -f or -j), count until Ctrl-C or -d seconds, stop the source before
    reading, ``report_counts(out, counts, stack map)`` prints and returns the folded lines, drawn
    as an SVG flame graph with --svg."""
    from purebpf.tools import common
    from purebpf.tools.session import Session

    out = common.Output(args.json)
    with Session() as s:
        counts, stackmap, source = build(s)
        if not args.folded and not args.json:
            what = f"PID {args.pid}" if args.pid else "all threads"
            until = f"for {args.duration} secs" if args.duration else "... Hit Ctrl-C to end"
            out.text(f"{activity} of {what} by user + kernel stack {until}.")
        common.ready(out)
        common.run_loop(common.sleep_ms, out, duration=args.duration)
        source.close()  # stop counting before reading
        folded = report_counts(out, counts, stackmap)
    if args.svg:
        from purebpf.tools import flamegraph

        flamegraph.write(args.svg, folded, f"purebpf {tool}")
    return 0


def stack_frames(stackmap, stack_id: int) -> list[int]:
    """The addresses of one stack in a stack trace map, innermost first
    (none for a negative id: the stack was not taken or did not fit)."""
    import struct

    if stack_id < 0:
        return []
    raw = stackmap.lookup_raw(struct.pack("<I", stack_id))
    if raw is None:
        return []
    out = []
    for (ip,) in struct.iter_unpack("<Q", raw):
        if not ip:
            break
        out.append(ip)
    return out


def folded_line(comm: str, user: list[str], kernel: list[str], count: int, *, delimit: bool = False,
                annotate: bool = False) -> str:
    """One line of folded stacks (Brendan Gregg's format): frames from the
    outermost call in, separated by ';', then the count.  ``user`` and
    ``kernel`` are innermost-first, as stack maps return them."""
    frames = [comm.replace(";", "_").replace(" ", "_")]
    frames += [f.replace(";", ":") for f in reversed(user)]
    if delimit and user and kernel:
        frames.append("-")
    frames += [(f + "_[k]" if annotate else f) for f in reversed(kernel)]
    return ";".join(frames) + f" {count}"


@dataclass
class Sample:
    """One stack's total: frames innermost first, as symbolized."""
    pid: int
    comm: str
    user: list[str]
    kernel: list[str]
    count: int


def merge(stackmap, rows) -> list[Sample]:
    """Symbolize ``rows`` of (pid, tgid, comm bytes, kernel stack id, user
    stack id, count) and add up those whose stacks read the same; by count.
    User frames resolve in the tgid's address space."""
    sym = Symbolizer()
    merged: dict[tuple, int] = {}
    for pid, tgid, comm, kid, uid, count in rows:
        kernel = tuple(sym.kernel(ip) for ip in stack_frames(stackmap, kid))
        user = tuple(sym.user(tgid, ip) for ip in stack_frames(stackmap, uid))
        key = (pid, comm.split(b"\0", 1)[0].decode(errors="replace"), user, kernel)
        merged[key] = merged.get(key, 0) + count
    out = [Sample(pid, comm, list(user), list(kernel), n) for (pid, comm, user, kernel), n in merged.items()]
    out.sort(key=lambda r: r.count)
    return out


def report(out, samples: list[Sample], *, folded: bool, delimit: bool, annotate: bool,
           separator: bool) -> list[str]:
    """Print samples as folded lines or as bcc's multi-line stacks (kernel
    frames, ``--`` when ``separator`` and both stacks exist, user frames, then
    ``-  comm (pid)`` and the count); JSON records either way.  Returns the
    folded lines (for a flame graph)."""
    from purebpf.tools.common import cfmt

    lines = [folded_line(s.comm, s.user, s.kernel, s.count, delimit=delimit, annotate=annotate) for s in samples]
    for s, line in zip(samples, lines, strict=True):
        out.record({"pid": s.pid, "comm": s.comm, "user_stack": s.user, "kernel_stack": s.kernel, "count": s.count})
        if out.json:
            continue
        if folded:
            out.text(line)
            continue
        for frame in s.kernel:
            out.text(f"    {frame}")
        if separator and s.kernel and s.user:
            out.text("    --")
        for frame in s.user:
            out.text(f"    {frame}")
        out.text(cfmt("    %-16s %s (%d)", "-", s.comm, s.pid))
        out.text(f"        {s.count}\n")
    return lines
