"""syscount: count system calls by syscall or by process, with latency (libbpf-tools' output).

    purebpf syscount -P -L -i 5     # per process, with total time, every 5 s
    purebpf syscount -e ENOENT      # only calls failing with ENOENT

Written in the trace language (``purebpf.trace``): ``raw_syscalls:sys_exit``
counts into per-CPU maps keyed by syscall number or PID, and with -L
``raw_syscalls:sys_enter`` stamps each thread's entry time.
"""

from __future__ import annotations

import errno as errno_mod

from purebpf.errors import InvalidInputError
from purebpf.sys.syscalls import syscall_name as known_syscall
from purebpf.sys.syscalls import syscall_names
from purebpf.tools import common
from purebpf.tools.common import cfmt

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--cgroup", metavar="PATH", help=common.HIDDEN)
    common.add_duration(p)
    p.add_argument("-e", "--errno", type=_errno, help="trace only syscalls that return this error (number or name)")
    p.add_argument("-i", "--interval", type=common.positive_int, help="print a summary every INTERVAL seconds")
    p.add_argument("-l", "--list", action="store_true", help="print the list of recognized syscalls and exit")
    p.add_argument("-L", "--latency", action="store_true", help="collect syscall latency")
    p.add_argument("-m", "--milliseconds", action="store_true", help="display latency in milliseconds")
    common.add_pid(p, help="process PID to trace")
    p.add_argument("-P", "--process", action="store_true", help="count by process and not by syscall")
    p.add_argument("-T", "--top", type=common.positive_int, default=10, help="print only the top N (default 10)")
    p.add_argument("-x", "--failures", action="store_true", help="trace only failed syscalls")
    common.add_json(p)


def _errno(text: str) -> int:
    if text.isdigit() and int(text) > 0:
        return int(text)
    value = getattr(errno_mod, text.upper(), None)
    if not isinstance(value, int):
        raise common.bad_value(f"'{text}' is neither an errno number nor a name like ENOENT")
    return value


def program(args: argparse.Namespace) -> str:
    """The trace-language program for these flags."""
    filters = ["args->id >= 0"]
    if args.pid is not None:
        filters.append(f"pid == {args.pid}")
    if args.failures:
        filters.append("args->ret < 0")
    if args.errno is not None:
        filters.append(f"args->ret == -{args.errno}")
    key = "pid" if args.process else "args->id"
    body = []
    if args.latency:
        body.append(f"$t = @start[tid]; if ($t) {{ @count[{key}] = count(); @ns[{key}] = sum(nsecs - $t); "
                    "delete(@start[tid]); }")
    else:
        body.append(f"@count[{key}] = count();")
    if args.process:
        body.append("@comm[pid] = comm;")
    text = ""
    if args.latency:
        enter = f"/pid == {args.pid}/ " if args.pid is not None else ""
        text += f"tracepoint:raw_syscalls:sys_enter {enter}{{ @start[tid] = nsecs; }}\n"
    text += f"tracepoint:raw_syscalls:sys_exit /{' && '.join(filters)}/ {{ {' '.join(body)} }}\n"
    return text


def _drain(tracer, name: str) -> dict[int, int]:
    if name not in tracer.maps:
        return {}
    entries = {key[0]: int(value) for key, value in tracer.entries(name)}
    m = tracer.maps[name]
    for key in list(m.keys_raw()):
        m.delete_raw(key)
    return entries


def print_summary(out: common.Output, tracer, args: argparse.Namespace) -> None:
    counts, times = _drain(tracer, "@count"), _drain(tracer, "@ns")
    comms = {k[0]: v for k, v in tracer.entries("@comm")} if args.process else {}
    order = sorted(counts, key=lambda k: (times.get(k, 0) if args.latency else counts[k]), reverse=True)
    when = common.Clock.hms()
    out.text(f"[{when}]")
    name_col = "PID    COMM" if args.process else "SYSCALL"
    div = 1e6 if args.milliseconds else 1e3
    if args.latency:
        out.text(cfmt("%-22s %8s %16s", name_col, "COUNT", "TIME (ms)" if args.milliseconds else "TIME (us)"))
    else:
        out.text(cfmt("%-22s %8s", name_col, "COUNT"))
    for key in order[: args.top]:
        label = cfmt("%-6u %-15s", key, comms.get(key, "")) if args.process else syscall_name(key)
        record = {"time": when, "count": counts[key]}
        record.update({"pid": key, "comm": comms.get(key, "")} if args.process else {"syscall": syscall_name(key)})
        if args.latency:
            out.text(cfmt("%-22s %8d %16.3f", label, counts[key], times.get(key, 0) / div))
            record["total_ns"] = times.get(key, 0)
        else:
            out.text(cfmt("%-22s %8d", label, counts[key]))
        out.record(record)
    out.text("")


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name in syscall_names().values():
            print(name)
        return 0
    if args.cgroup:
        raise InvalidInputError("syscount -c (cgroup filter) is not supported by purebpf yet")
    common.require_process(args.pid)
    from purebpf.trace.compiler import compile_program
    from purebpf.trace.runtime import Tracer

    out = common.Output(args.json)
    with Tracer(compile_program(program(args), name="syscount")) as tracer:
        tracer.attach()
        out.text(f"Tracing syscalls, printing top {args.top}... Ctrl+C to quit.")
        common.ready(out)
        common.run_loop(tracer.poll, out, duration=args.duration, interval=args.interval,
                        on_interval=lambda: print_summary(out, tracer, args))
    return 0


def syscall_name(nr: int) -> str:
    """The name of syscall ``nr``, or ``[nr]`` when unknown (as libbpf-tools prints it)."""
    return known_syscall(nr) or f"[{nr}]"
