"""Running a compiled bpftrace program: create its maps, load and attach its
probes, print what the probes send, and print the maps at exit.

The life cycle mirrors bpftrace: BEGIN runs before the other probes are attached, a
Ctrl-C, SIGTERM, ``exit()`` or the end of the ``-c`` command stops tracing,
probes are detached, END runs, and the maps are printed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TextIO

from purebpf.asm import resolve_maps
from purebpf.errors import BPFError, SyscallError
from purebpf.events import RingBuffer
from purebpf.links import Link, close_all
from purebpf.maps import Map, MapSpec
from purebpf.programs import Program
from purebpf.sys import MapType
from purebpf.sys.cpus import possible_cpus
from purebpf.trace.attach import attach_probe, load_probe
from purebpf.trace.child import HeldChild
from purebpf.trace.codegen import EXIT_MAP, KSTACK_MAP, RINGBUF, USTACK_MAP, Event
from purebpf.trace.codegen.base import (
    JOIN_ARG_SIZE,
    PROBE_NAMES_MAP,
    SKB_MAP,
    SKB_META_SIZE,
    STACK_SCRATCH_FRAMES,
    STACK_SCRATCH_MAP,
)
from purebpf.trace.compiler import CompiledProgram
from purebpf.trace.json_output import json_text, jsonable, map_json
from purebpf.trace.printf import parse_format
from purebpf.trace.render import Hist, LHist, map_text, select, value_text
from purebpf.trace.values import Stack, decode, map_entries, set_string_truncation, user_symbols

RINGBUF_SIZE = 1 << 22
ENOSPC = 28
DEFAULT_MAX_ENTRIES = 4096
STACK_DEPTH = 127
BENCH_BUDGET_NS = 100_000_000  # each bench probe runs this long
USER_PID_WATCH_S = 0.5  # how often the pids behind ustack/usym map keys are looked at (mappings kept)
BENCH_MAX_ITERS = 1_000_000
STACK_ENTRIES = 4096


class Tracer:
    """One running bpftrace program.  Use as a context manager; :meth:`run`
    blocks until the program ends and returns the exit code."""

    def __init__(self, program: CompiledProgram, *, out: TextIO | None = None, json_output: bool = False,
                 pid: int | None = None, on_printf: Callable[[str, list], None] | None = None,
                 unsafe: bool = False, warnings: bool = True, log_level: int = 0, buffering: str = "line") -> None:
        """``on_printf(fmt, args)``, when given, receives each printf's decoded
        arguments instead of the text being printed: tools built on the
        language format their own columns this way.  ``buffering`` is -B: "full"
        leaves output in the stream's buffer, "line" and "none" write each event out."""
        self.program = program
        set_string_truncation(program.config.max_strlen, program.config.str_trunc_trailer)
        self.on_printf = on_printf
        self.out = out or sys.stdout
        self.flush_each = buffering != "full"
        self.json = json_output
        self.pid = pid
        self.unsafe = unsafe
        self.warnings = warnings
        self.log_level = log_level
        self.maps: dict[str, Map] = {}
        self.progs: dict[int, Program] = {}
        self.links: list[Link] = []
        self.ring: RingBuffer | None = None
        self.packets = None  # skboutput(): a PacketCapture over SKB_MAP
        self.exit_requested = False
        self.exit_code = 0
        self.enums = _enum_names(program)
        self.formats = [parse_format(ev.fmt) if ev.kind in ("printf", "system", "cat", "errorf", "warnf") else None
                        for ev in program.events]

    # -- set-up --------------------------------------------------------------------

    def load(self) -> None:
        """Create every map and load every probe's program (nothing attached yet)."""
        for name, info in self.program.maps.items():
            if "lru" in info.declared:  # least recently used elements make room instead of the map filling up
                kind = MapType.LRU_PERCPU_HASH if info.per_cpu else MapType.LRU_HASH
            else:
                kind = MapType.PERCPU_HASH if info.per_cpu else MapType.HASH
            self.maps[name] = Map(MapSpec(kind, info.key_size, info.value_size,
                                          info.max_entries or DEFAULT_MAX_ENTRIES, name=name.lstrip("@") or "map"))
        if any(ev.kind == "debugf" for ev in self.program.events):
            from purebpf.sys.fs import debugfs_root
            debugfs_root()  # where users (and bpftrace's tests) read the trace buffer debugf() writes
        if self.program.events:  # a program that sends nothing needs no 4 MiB ring mapped twice
            self.maps[RINGBUF] = Map(MapSpec(MapType.RINGBUF, 0, 0, RINGBUF_SIZE, name="ringbuf"))
        for name in self.program.stack_maps:
            if name == STACK_SCRATCH_MAP:
                self.maps[name] = Map(MapSpec(MapType.PERCPU_ARRAY, 4, 8 * STACK_SCRATCH_FRAMES, 1, name=name))
                continue
            self.maps[name] = Map(MapSpec(MapType.STACK_TRACE, 4, 8 * STACK_DEPTH, STACK_ENTRIES, name=name))
        if self.program.exit_flag:
            self.maps[EXIT_MAP] = Map(MapSpec(MapType.ARRAY, 4, 8, 1, name=EXIT_MAP))
        for name, size in self.program.scratch.items():  # frames too large for the BPF stack, one per CPU
            self.maps[name] = Map(MapSpec(MapType.ARRAY, 4, size, possible_cpus(), name=name))
        if self.program.probe_names:  # uprobe_multi programs: probe and func by the link's cookie
            self.maps[PROBE_NAMES_MAP] = _names_map(self.program.probe_names)
        if any(ev.kind == "skboutput" for ev in self.program.events):
            self.maps[SKB_MAP] = Map(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, possible_cpus(), name=SKB_MAP))
        fds = {name: m.fd for name, m in self.maps.items()}
        for probe in self.program.probes:
            self.progs[probe.index] = self._load(probe, resolve_maps(probe.insns, fds))
        if RINGBUF in self.maps:
            self.ring = RingBuffer(self.maps[RINGBUF], self._on_event)
        if SKB_MAP in self.maps:
            from purebpf.trace.pcap import PacketCapture

            paths = {ident: ev.fmt for ident, ev in enumerate(self.program.events) if ev.kind == "skboutput"}
            self.packets = PacketCapture(self.maps[SKB_MAP], paths, SKB_META_SIZE)

    def _load(self, probe, insns: list) -> Program:
        """Load one probe's program; a verifier log cut short by BPFTRACE_LOG_SIZE fails it as in bpftrace."""
        log_size = self.program.config.log_size
        try:
            return load_probe(probe, insns, self.log_level, log_size)
        except SyscallError as exc:
            if not log_size or exc.errno != ENOSPC:
                raise
            print(f"WARNING: Kernel log seems to be trimmed: the verifier needs more than {log_size} bytes of log; "
                  "raise BPFTRACE_LOG_SIZE", file=sys.stderr)
            name = probe.target.name.replace(":", "_")
            raise SyscallError(f"Error loading BPF program for {name}_{probe.index + 1}. "
                               f"Error code: -{ENOSPC} ({os.strerror(ENOSPC)}).", ENOSPC, "BPF_PROG_LOAD") from None

    def attach(self) -> int:
        """Attach every probe; returns how many attach points are live."""
        probes = self.program.attachable
        # the kernel runs the uprobe, uretprobe and kprobe handlers of one address newest first: attach
        # them in reverse so they run in program order, as every other kind of probe does
        newest_first = ("uprobe", "uretprobe", "usdt", "kprobe")
        user = [p for p in probes if p.target.provider in newest_first]
        for probe in [p for p in probes if p.target.provider not in newest_first] + user[::-1]:
            self.links.append(attach_probe(probe, self.progs[probe.index], self.pid, self.program.cpid))
        # BEGIN and END count, as bpftrace counts them; a uprobe_multi program counts each of its functions
        return sum(p.attach_points for p in self.program.probes)

    # -- events ----------------------------------------------------------------------

    def _args(self, ev: Event, data: bytes) -> list:
        """The record's arguments as written; a record ending in a string may stop at its NUL."""
        args: list = [None] * len(ev.arg_types)
        for i, pos in ev.slots():
            t = ev.arg_types[i]
            value = decode(t, data[pos:pos + t.padded], self.enums)
            if isinstance(value, Stack):
                self._fill_stack(value, t)
            args[i] = value
        return args

    def _on_event(self, data: bytes) -> None:
        if self.exit_requested:  # as bpftrace: once exit() ran, what is still queued is not printed
            return
        ident = int.from_bytes(data[:8], "little")
        ev = self.program.events[ident]
        kind = ev.kind
        if kind == "printf":
            args = self._args(ev, data)
            if self.on_printf is not None:
                self.on_printf(ev.fmt, args)
            else:
                self._emit("printf", self.formats[ident].render(args))
        elif kind == "print":
            value = self._args(ev, data)[0]
            self._emit("value", value_text(value) + "\n", value)
        elif kind == "print_map":
            self.print_map(ev.map_name, ev.top, ev.div)
        elif kind == "join":
            count = int.from_bytes(data[8:16], "little")
            parts = [data[16 + i * JOIN_ARG_SIZE:16 + (i + 1) * JOIN_ARG_SIZE].split(b"\0", 1)[0]
                     .decode(errors="replace") for i in range(count)]
            self._emit("join", ev.fmt.join(parts) + "\n")
        elif kind == "exit":
            self.exit_requested = True
            if ev.arg_types:
                self.exit_code = self._args(ev, data)[0] & 0xFF
        elif kind in ("clear", "zero"):
            self._reset_map(ev)
        elif kind == "time":
            from purebpf.trace.values import format_time
            self._emit("time", format_time(ev.fmt, time.monotonic_ns()))
        elif kind == "system":
            self._system(self.formats[ident].render(self._args(ev, data)))
        elif kind == "cat":
            self._cat(self.formats[ident].render(self._args(ev, data)))
        elif kind == "helper_error":
            self._helper_error(ev, int.from_bytes(data[8:16], "little", signed=True))
        elif kind in ("errorf", "warnf"):
            text = self.formats[ident].render(self._args(ev, data))
            level = "ERROR" if kind == "errorf" else "WARNING"
            if kind == "warnf" and not self.warnings:
                return
            line = self.program.source.format_message(level, text, ev.loc)
            print(line, file=sys.stderr, flush=True)

    def _helper_error(self, ev: Event, retcode: int) -> None:
        """``-k``: a helper failed at run time (a read of a bad address, a map element that is not there).
        JSON output gets a record on stdout (where consumers look for events); text a warning on stderr."""
        if ev.fmt == "map_lookup_elem" and retcode == 0:
            message = "Can't lookup map element because it does not exist."
        else:
            message = os.strerror(-retcode) if retcode < 0 else f"Unknown error {retcode}"
        if self.json:
            record = {"type": "helper_error", "msg": message, "helper": ev.fmt, "retcode": retcode,
                      "filename": self.program.source.name, "line": ev.loc.line, "col": ev.loc.col}
            self.out.write(json_text(record) + "\n")
            self.out.flush()
            return
        if self.warnings:
            text = f"{message}\nAdditional Info - helper: {ev.fmt}, retcode: {retcode}"
            print(self.program.source.format_message("WARNING", text, ev.loc), file=sys.stderr, flush=True)

    def _system(self, command: str) -> None:
        self.out.flush()
        import subprocess

        proc = subprocess.run(command, shell=True, capture_output=True, text=True)
        self._emit("syscall", proc.stdout)

    def _cat(self, path: str) -> None:
        try:
            with open(path, errors="replace") as f:
                text = f.read(_max_cat_bytes())
        except OSError as exc:
            print(f"ERROR: failed to open file '{path}' ({exc.strerror})", file=sys.stderr, flush=True)
            return
        self._emit("cat", text)

    def _fill_stack(self, value: Stack, t) -> None:
        """Turn a stack id into its symbolised frames (bpftrace's format: ``func+off``, one per line)."""
        from purebpf.symbols import kernel_symbols

        user = t.kind == "ustack"
        stack_id = int(value) & 0xFFFFFFFF
        pid = int(value) >> 32
        m = self.maps.get(USTACK_MAP if user else KSTACK_MAP)
        raw = m.lookup_raw(stack_id.to_bytes(4, "little")) if m is not None and stack_id < 0x80000000 else None
        frames = []
        mode, _, limit = (t.extra or "bpftrace:127").partition(":")
        syms = user_symbols(pid) if user else kernel_symbols()
        debug = self.program.config.show_debug_info
        if raw:
            for i in range(0, min(len(raw), 8 * int(limit or STACK_DEPTH)), 8):
                addr = int.from_bytes(raw[i:i + 8], "little")
                if not addr:
                    break
                if mode == "raw":
                    frames.append(f"{addr:x}")
                    continue
                if mode == "build_id" and user:
                    frames.append(syms.build_id_frame(addr) or f"0x{addr:x}")
                    continue
                name = syms.lookup(addr, offset=True)
                # DWARF: calls inlined at the address, and (bpftrace mode) file:line; a return address
                # is looked up one byte back, inside the call it returns from
                source = syms.source_frames(addr - (i > 0)) if user and debug and name else []
                if mode == "perf":  # perf's format: address, symbol, then the file it is in
                    frames.extend(f"{addr:x} {f.func} (inlined)" for f in source if f.func)
                    module = (syms.module(addr) if user else "kernel.kallsyms") or "unknown"
                    frames.append(f"{addr:x} {name or '[unknown]'} ({module})")
                else:
                    frames.extend(f"[inlined] {f.func}@{f.file}:{f.line}" for f in source if f.func)
                    where = f"@{source[-1].file}:{source[-1].line}" if source else ""
                    frames.append((name + where) if name else f"0x{addr:x}")
        value.frames = frames
        value.indent = "" if mode in ("raw", "build_id") else "        "  # bare addresses start the line

    def _reset_map(self, ev: Event) -> None:
        m = self.maps[ev.map_name]
        if ev.kind == "clear":
            for key in list(m.keys_raw()):
                m.delete_raw(key)
        else:
            for key in list(m.keys_raw()):
                m.update_raw(key, bytes(m.value_bytes))

    def _emit(self, kind: str, text: str, value: object = None) -> None:
        if self.json:
            data = text if kind in ("printf", "time", "syscall", "cat") else text.rstrip("\n") if kind == "join" \
                else value
            self.out.write(json_text({"type": kind, "data": jsonable(data)}) + "\n")
        else:
            self.out.write(text)
        if self.flush_each:
            self.out.flush()

    # -- maps --------------------------------------------------------------------------

    def entries(self, name: str) -> list[tuple[tuple, object]]:
        m = self.maps[name]
        items = []
        for key in m.keys_raw():
            raw = m.lookup_raw(key)
            if raw is not None:
                items.append((key, raw))
        info = self.program.maps[name]
        entries = map_entries(info, items, self.enums)
        if info.key is not None and info.key.kind in ("kstack", "ustack") or (
                info.key is not None and info.key.kind == "tuple" and any(
                    e.kind in ("kstack", "ustack") for e in info.key.elems)):
            for key, _ in entries:
                for k in key:
                    if isinstance(k, Stack):
                        self._fill_stack(k, info.key if info.key.kind != "tuple" else next(
                            e for e in info.key.elems if e.kind in ("kstack", "ustack")))
        return entries

    def _empty_scalar(self, name: str) -> list[tuple[tuple, object]]:
        """``print(@m)`` of a scalar map nothing wrote yet: bpftrace prints its zero value."""
        info = self.program.maps[name]
        if info.key is not None or info.kind in ("hist", "lhist", "tseries"):
            return []
        from purebpf.trace.values import combine
        return [((), combine(info, bytes(info.value_size * (possible_cpus() if info.per_cpu else 1)), self.enums))]


    def print_map(self, name: str, top: int = 0, div: int = 0, *, at_exit: bool = False) -> None:
        entries = self.entries(name)
        if not entries and not at_exit:
            entries = self._empty_scalar(name)
        entries = select(entries, top, div)
        if self.json:
            self._emit_json_map(name, entries)
        else:
            self.out.write(map_text(name, entries, sort=False))
            if entries and not at_exit and not isinstance(entries[-1][1], (Hist, LHist)):
                self.out.write("")
            self.out.flush()

    def _emit_json_map(self, name: str, entries: list[tuple[tuple, object]]) -> None:
        record = map_json(name, self.program.maps[name], entries)
        if record is not None:
            self.out.write(json_text(record) + "\n")
            self.out.flush()

    def print_all_maps(self) -> None:
        if not self.program.config.print_maps_on_exit:
            return
        if not self.json:
            self.out.write("\n\n")
        for name in sorted(self.program.maps):
            self.print_map(name, at_exit=True)

    # -- running -------------------------------------------------------------------------

    def _catch_self_signals(self, received: list[str]) -> dict[int, object]:
        """Handlers for the signals ``self:signal:NAME`` probes wait for (they run from the main
        loop, in program order); returns the handlers they replace."""
        old = {}
        for name in sorted({p.target.func for p in self.program.probes if p.target.provider == "self"}):
            signum = getattr(signal, name)
            old[signum] = signal.signal(signum, lambda *_, name=name: received.append(name))
        return old

    def run_probe(self, provider: str, func: str | None = None, deliver: bool = True) -> None:
        """Run the probes of a user-space provider (BEGIN, END, self) once, in program order; with
        ``deliver``, print what each sends before the next runs (an exit() in the kernel stops later
        probes without it: they check the exit flag)."""
        for probe in self.program.probes:
            if probe.target.provider == provider and not self.exit_requested and func in (None, probe.target.func):
                self.progs[probe.index].test_run(ctx=bytes(8))
                if deliver:
                    self.poll(0)

    def run_benchmarks(self, budget_ns: int = BENCH_BUDGET_NS) -> None:
        """Run each ``bench:NAME`` probe again and again for ``budget_ns`` and print its mean time per run
        (timed around BPF_PROG_TEST_RUN, so the figure includes the system call)."""
        results = []
        for probe in self.program.probes:
            if probe.target.provider != "bench" or self.exit_requested:
                continue
            prog, iters = self.progs[probe.index], 0
            start = time.perf_counter_ns()
            while True:
                prog.test_run(ctx=bytes(8))
                iters += 1
                elapsed = time.perf_counter_ns() - start
                if elapsed >= budget_ns or iters >= BENCH_MAX_ITERS:
                    break
            self.poll(0)
            results.append((probe.target.target, elapsed // iters, iters))
        if results:
            self._emit_benchmarks(results)

    def _emit_benchmarks(self, results: list[tuple[str, int, int]]) -> None:
        if self.json:
            for name, average, iters in results:
                self.out.write(json_text({"type": "benchmark_result",
                                          "data": {name: {"average": average, "iters": iters}}}) + "\n")
        else:
            lines = [f"{'Benchmark':<41}{'Time(ns)':<15}Iterations", "-" * 66]
            lines += [f"{name:<41}{average:<15}{iters}" for name, average, iters in results]
            self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()

    def run_iterators(self) -> bool:
        """Read each ``iter:`` probe's iterator to its end and print what its runs sent, in order; then the
        program is over (as in bpftrace).  Returns whether the program had iter probes."""
        ran = False
        for link in self.links:
            if link.kind == "iter":
                ran = True
                self._on_records(link.read())  # type: ignore[attr-defined]
        return ran

    def _on_records(self, data: bytes) -> None:
        """Events an iterator's runs wrote one after the other (bpf_seq_write): every run's output is
        shown, an exit() in one of them only ends the program afterwards."""
        pos, exited = 0, self.exit_requested
        while pos + 8 <= len(data):
            ev = self.program.events[int.from_bytes(data[pos:pos + 8], "little")]
            self.exit_requested = False
            self._on_event(data[pos:pos + ev.size])
            exited = exited or self.exit_requested
            pos += ev.size
        self.exit_requested = exited
        self.poll(0)

    def poll(self, timeout_ms: int) -> None:
        """Deliver the events that arrive within ``timeout_ms`` (just wait, if the program sends none)."""
        if self.packets is not None:
            self.packets.consume()
        if self.ring is not None:
            self.ring.poll(timeout_ms)
        elif timeout_ms > 0:
            time.sleep(timeout_ms / 1000)

    def run(self, *, command: list[str] | None = None, on_attached: Callable[[int], None] | None = None,
            child: HeldChild | None = None) -> int:
        """Run BEGIN, attach, trace until the program ends, then END and the maps.
        Returns the exit code (``exit(code)``, else 0)."""
        stop = {"now": False}

        def finish(*_) -> None:
            # as exit() does (and bpftrace on a signal): what is still queued is dropped, so a backlog of
            # slow events (system() under load) cannot hold END and the maps back
            stop["now"] = self.exit_requested = True

        old = signal.signal(signal.SIGTERM, finish)
        # Ctrl-C ends tracing like SIGTERM (END runs, maps print, exit status 0), as in bpftrace
        old_int = signal.signal(signal.SIGINT, finish)
        received: list[str] = []
        old_self = self._catch_self_signals(received)
        if command and child is None:
            child = HeldChild.spawn(command)
        try:
            self.run_probe("BEGIN", deliver=False)  # as bpftrace: before the other probes are attached
            count = self.attach()
            if on_attached is not None:
                on_attached(count)
            self.poll(0)  # BEGIN's output, after the "Attached" line
            self.run_benchmarks()
            iterated = self.run_iterators()
            if child is not None:
                child.release()
            only_begin_end = not self.program.attachable and child is None and not old_self or iterated
            watch, last_watch = self._user_address_keys(), time.monotonic()
            while not (stop["now"] or self.exit_requested or only_begin_end):
                try:
                    self.poll(100)
                except KeyboardInterrupt:
                    break
                while received and not self.exit_requested:
                    self.run_probe("self", received.pop(0))
                if watch and time.monotonic() - last_watch >= USER_PID_WATCH_S:
                    self._remember_processes(watch)
                    last_watch = time.monotonic()
                if child is not None and child.done():
                    self.poll(0)
                    break
                if self.pid is not None and not os.path.exists(f"/proc/{self.pid}"):
                    break
        finally:
            signal.signal(signal.SIGTERM, old)
            signal.signal(signal.SIGINT, old_int)
            for signum, handler in old_self.items():
                signal.signal(signum, handler)
            self.detach()
        self.poll(0)
        self.exit_requested = False
        self.run_probe("END")
        self.print_all_maps()
        if child is not None:
            child.kill()
        return self.exit_code

    def _user_address_keys(self) -> list[tuple[str, int, int]]:
        """(map, byte offset, size) of the pids stored in map keys next to user addresses (ustack, usym)."""
        out = []
        for name, info in self.program.maps.items():
            if info.key is None:
                continue
            elems = info.key.elems if info.key.kind == "tuple" else (info.key,)
            offsets = info.key.offsets() if info.key.kind == "tuple" else [0]
            for t, off in zip(elems, offsets, strict=True):
                if t.kind == "ustack":
                    out.append((name, off + 4, 4))
                elif t.kind == "usym":
                    out.append((name, off + 8, 8))
        return out

    def _remember_processes(self, watch: list[tuple[str, int, int]]) -> None:
        """Read the mappings of processes whose user addresses sit in map keys while they still run,
        so the maps printed at the end name them even after those processes exit."""
        for name, off, size in watch:
            for key in self.maps[name].keys_raw():
                pid = int.from_bytes(key[off:off + size], "little")
                if pid:
                    user_symbols(pid)

    def detach(self) -> None:
        close_all(self.links)  # concurrently: each detach waits for the kernel's RCU grace periods
        self.links = []

    def close(self) -> None:
        self.detach()
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        if self.packets is not None:
            self.packets.close()
            self.packets = None
        for prog in self.progs.values():
            prog.close()
        for m in self.maps.values():
            m.close()
        self.progs, self.maps = {}, {}

    def __enter__(self) -> Tracer:
        try:
            self.load()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _max_cat_bytes() -> int:
    """How much of a file ``cat()`` prints: ``BPFTRACE_MAX_CAT_BYTES`` (bpftrace's knob), 10 KiB by default."""
    try:
        return max(int(os.environ.get("BPFTRACE_MAX_CAT_BYTES", "10240")), 0)
    except ValueError:
        return 10240


def _enum_names(program: CompiledProgram) -> dict[str, dict[int, str]]:
    """Enumerator names of every enum type the program prints: its own C definitions, then the
    kernel's BTF (``args.reason`` of ``skb:kfree_skb`` is an ``enum skb_drop_reason``)."""
    from purebpf.trace.cdefs import parse_cdefs
    enums = parse_cdefs(program.ast.c_definitions).enums
    types = [t for ev in program.events for t in ev.arg_types]
    types += [t for info in program.maps.values() for t in (info.key, info.value) if t is not None]
    wanted = {t.extra for t in _all_types(types) if t.kind == "int" and t.extra and t.extra not in enums}
    if wanted:
        try:
            from purebpf.btf import load_kernel
            btf = load_kernel()
        except BPFError:
            return enums
        for name in wanted:
            try:
                enums[name] = {v.value: v.name for v in btf.enum(name).values}
            except BPFError:
                continue
    return enums


def _all_types(types):
    for t in types:
        yield t
        yield from _all_types(t.elems)


def _names_map(elements: list[bytes]) -> Map:
    """PROBE_NAMES_MAP filled: element i is the probe and func names of the function with cookie i."""
    names = Map(MapSpec(MapType.ARRAY, 4, len(elements[0]), len(elements), name=PROBE_NAMES_MAP))
    try:
        for i, value in enumerate(elements):
            names.update_raw(i.to_bytes(4, "little"), value)
    except BaseException:
        names.close()
        raise
    return names
