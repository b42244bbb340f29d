"""memleak: outstanding allocations by stack (bcc's report), in a process or in the kernel.

    purebpf memleak -p 1234 10          # a process's malloc/free, every 10 seconds
    purebpf memleak -c "./server -x"    # run a command and watch it until it ends
    purebpf memleak -o 5000             # kernel allocations older than 5 s

In a process: uprobes on libc's malloc, calloc and realloc note the size
asked for, uretprobes record each returned address with its size, time and
user stack (``bpf_get_stackid``), and free (and realloc) forget it.  In the
kernel (no -p, no -c): the ``kmem:kmalloc``/``kmem:kmem_cache_alloc``
tracepoints record, ``kmem:kfree``/``kmem:kmem_cache_free`` forget.  Each
report adds up what is still recorded by stack and prints the largest.
Allocations made by the shell that starts a -c command (before its exec)
can show as outstanding.
"""

from __future__ import annotations

import shlex
import struct
import subprocess
import time

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R8, AluOp, JmpOp, alu, call, jmp, ld_map_fd, ldx, mov, stx
from purebpf.errors import InvalidInputError
from purebpf.programs import ProgType
from purebpf.sys import MapType
from purebpf.tools import common, kit, stacks
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

ALLOC = struct.Struct("<QQq")  # size, time (ns), stack id
ARG1, ARG2, RET = 112, 104, 80  # struct pt_regs on x86_64: di, si, ax
MAX_ALLOCS = 1 << 20


def arguments(p: argparse.ArgumentParser) -> None:
    common.add_pid(p, help="the PID to trace; if neither this nor -c is given, trace kernel allocations")
    p.add_argument("-c", "--command", help="execute and trace the specified command")
    p.add_argument("-o", "--older", type=common.non_negative_int, default=500, metavar="AGE",
                   help="prune allocations younger than this age in milliseconds (default 500)")
    p.add_argument("-T", "--top", type=common.positive_int, default=10, help="display only this many top stacks")
    p.add_argument("-z", "--min-size", type=common.non_negative_int, help="capture only allocations >= this size")
    p.add_argument("-Z", "--max-size", type=common.positive_int, help="capture only allocations <= this size")
    p.add_argument("-O", "--obj", default="c", help="the library holding malloc and free (default libc)")
    p.add_argument("--stack-storage-size", type=common.positive_int, default=16384,
                   help="the number of unique stack traces that can be stored (16384)")
    p.add_argument("interval", nargs="?", type=common.positive_int, default=5,
                   help="interval in seconds to print outstanding allocations (5)")
    p.add_argument("count", nargs="?", type=common.positive_int, help="number of times to print the report")
    common.add_json(p)


def _size_filter(a: kit.Asm, size, args: argparse.Namespace) -> None:
    """Leave unless -z <= size <= -Z."""
    if args.min_size is not None:
        a(jmp(JmpOp.JLT, size, args.min_size, a.out))
    if args.max_size is not None:
        a(jmp(JmpOp.JGT, size, args.max_size, a.out))


def _forget(a: kit.Asm, allocs_fd: int, ctx, offset: int) -> None:
    """allocs.delete(the pointer at ctx + offset)."""
    a(ldx(8, R1, ctx, offset), stx(8, FP, -8, R1))
    kit.map_delete(a, allocs_fd, -8)


def _remember_size(a: kit.Asm, sizes_fd: int, size, args: argparse.Namespace) -> None:
    """sizes[tid] = size (the uretprobe takes it)."""
    _size_filter(a, size, args)
    a(stx(8, FP, -16, size))
    kit.pid_tgid(a, R0)
    a(stx(4, FP, -4, R0))
    kit.map_update(a, sizes_fd, -4, -16)


def _record(a: kit.Asm, allocs_fd: int, stackmap_fd: int, ctx, addr_off: int, size, user: bool) -> None:
    """allocs[*(ctx + addr_off)] = (size, now, stack id), unless the address is NULL."""
    a(ldx(8, R1, ctx, addr_off), jmp(JmpOp.JEQ, R1, 0, a.out), stx(8, FP, -40, R1), stx(8, FP, -32, size))
    a(call("ktime_get_ns"), stx(8, FP, -24, R0))
    a(mov(R1, ctx), ld_map_fd(R2, stackmap_fd), mov(R3, kit.BPF_F_USER_STACK if user else 0), call("get_stackid"),
      stx(8, FP, -16, R0))
    kit.map_update(a, allocs_fd, -40, -32)


def build_user(s: Session, args: argparse.Namespace, pid: int, allocs, stackmap) -> None:
    from purebpf.links import Uprobe

    sizes = s.hash(4, 8, "memleak_sizes")

    def attach(a: kit.Asm, name: str, symbol: str, ret: bool = False) -> None:
        prog = s.own(a.load(ProgType.KPROBE, name))
        s.own(Uprobe(prog, args.obj, symbol, pid=pid, retprobe=ret))

    for symbol in ("malloc", "calloc", "realloc"):
        a = kit.Asm()
        a(mov(R6, R1))
        if symbol == "realloc":  # the old block is gone (or moved): forget it first
            _forget(a, allocs.fd, R6, ARG1)
        a(ldx(8, R7, R6, ARG2 if symbol == "realloc" else ARG1))
        if symbol == "calloc":
            a(ldx(8, R1, R6, ARG2), alu(AluOp.MUL, R7, R1))
        _remember_size(a, sizes.fd, R7, args)
        attach(a, f"ml_{symbol}", symbol)

        a = kit.Asm()
        a(mov(R6, R1))
        kit.pid_tgid(a, R0)
        a(stx(4, FP, -4, R0))
        kit.map_lookup(a, sizes.fd, -4)
        a(jmp(JmpOp.JEQ, R0, 0, a.out), ldx(8, R7, R0, 0))
        kit.map_delete(a, sizes.fd, -4)
        _record(a, allocs.fd, stackmap.fd, R6, RET, R7, user=True)
        attach(a, f"ml_{symbol}_ret", symbol, ret=True)

    a = kit.Asm()
    _forget(a, allocs.fd, R1, ARG1)
    attach(a, "ml_free", "free")


def build_kernel(s: Session, args: argparse.Namespace, allocs, stackmap) -> None:
    for alloc, free in (("kmalloc", "kfree"), ("kmem_cache_alloc", "kmem_cache_free")):
        f = kit.tp_fields("kmem", alloc)
        a = kit.Asm()
        a(mov(R6, R1), ldx(8, R8, R6, f["bytes_alloc"].offset))
        _size_filter(a, R8, args)
        _record(a, allocs.fd, stackmap.fd, R6, f["ptr"].offset, R8, user=False)
        s.tracepoint(a.load(ProgType.TRACEPOINT, f"ml_{alloc}"[:15]), "kmem", alloc)
        a = kit.Asm()
        _forget(a, allocs.fd, R1, kit.tp_fields("kmem", free)["ptr"].offset)
        s.tracepoint(a.load(ProgType.TRACEPOINT, f"ml_{free}"[:15]), "kmem", free)


def report(out: common.Output, allocs, stackmap, args: argparse.Namespace, pid: int | None,
           sym: stacks.Symbolizer) -> None:
    """Outstanding allocations older than -o, by stack, the largest -T."""
    cutoff = time.monotonic_ns() - args.older * 1_000_000
    by_stack: dict[int, list[int]] = {}
    for _, raw in list(allocs.items_raw()):
        size, ts, stack_id = ALLOC.unpack(raw)
        if ts <= cutoff:
            total = by_stack.setdefault(stack_id, [0, 0])
            total[0] += size
            total[1] += 1
    when = common.Clock.hms()
    top = sorted(by_stack.items(), key=lambda kv: kv[1][0])[-args.top:]
    out.text(f"[{when}] Top {args.top} stacks with outstanding allocations:")
    for stack_id, (size, count) in top:
        addrs = stacks.stack_frames(stackmap, stack_id)
        frames = [sym.user(pid, ip) if pid else sym.kernel(ip) for ip in addrs]
        out.text(cfmt("\t%d bytes in %d allocations from stack", size, count))
        for ip, frame in zip(addrs, frames, strict=True):
            out.text(cfmt("\t\t0x%016x\t%s", ip, frame))
        out.record({"time": when, "bytes": size, "allocations": count, "stack": frames})
    out.flush()


def run(args: argparse.Namespace) -> int:
    if args.pid is not None and args.command:
        raise InvalidInputError("-p and -c cannot be used together: trace a running process or a new command")
    if args.min_size is not None and args.max_size is not None and args.min_size > args.max_size:
        raise InvalidInputError(f"-z {args.min_size} is larger than -Z {args.max_size}: no allocation fits")
    common.require_process(args.pid)
    child = None
    if args.command:
        argv = shlex.split(args.command)
        if not argv:
            raise InvalidInputError("-c needs a command to run")
        # sh waits for a line before exec'ing the command in place: its PID is known before it runs
        child = subprocess.Popen(["/bin/sh", "-c", 'read x; exec "$@"', "sh", *argv], stdin=subprocess.PIPE)
    pid = child.pid if child else args.pid
    out = common.Output(args.json)
    try:
        with Session() as s:
            allocs = s.hash(8, ALLOC.size, "memleak_allocs", max_entries=MAX_ALLOCS, prealloc=False)
            stackmap = s.map(MapType.STACK_TRACE, 4, 8 * 127, args.stack_storage_size, "memleak_stacks")
            if pid:
                build_user(s, args, pid, allocs, stackmap)
                out.text(f"Attaching to pid {pid}, Ctrl+C to quit.")
            else:
                build_kernel(s, args, allocs, stackmap)
                out.text("Attaching to kernel allocators, Ctrl+C to quit.")
            common.ready(out)
            if child is not None:
                child.stdin.write(b"\n")
                child.stdin.close()

            sym = stacks.Symbolizer()

            def poll(ms: int) -> None:
                if child is not None and child.poll() is not None:
                    raise _Ended
                common.sleep_ms(ms)
                if pid:
                    sym.refresh(pid)  # the process may be gone when the report is printed

            try:
                common.run_loop(poll, out, interval=args.interval, count=args.count,
                                on_interval=lambda: report(out, allocs, stackmap, args, pid, sym))
            except _Ended:
                report(out, allocs, stackmap, args, pid, sym)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
    return 0


class _Ended(Exception):
    """The -c command exited: print the last report and stop."""
