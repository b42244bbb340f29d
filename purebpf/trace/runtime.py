"""Running a compiled bpftrace program: create its maps, load and attach its
probes, print what the probes send, and print the maps at exit.

The life cycle mirrors bpftrace: BEGIN runs once everything is attached, a
Ctrl-C, SIGTERM, ``exit()`` or the end of the ``-c`` command stops tracing,
probes are detached, END runs, and the maps are printed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TextIO

from purebpf.asm import resolve_maps
from purebpf.errors import BPFError, NotSupportedError
from purebpf.events import RingBuffer
from purebpf.links import Kprobe, Link, PerfEvent, RawTracepoint, Tracepoint, Uprobe
from purebpf.maps import Map, MapSpec
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import MapType, ProgType
from purebpf.sys.perf import HardwareEvent, PerfType, SoftwareEvent
from purebpf.trace.codegen import KSTACK_MAP, RINGBUF, USTACK_MAP, Event
from purebpf.trace.compiler import CompiledProbe, CompiledProgram
from purebpf.trace.printf import parse_format
from purebpf.trace.probes import HARDWARE_EVENTS, SOFTWARE_EVENTS
from purebpf.trace.render import Hist, LHist, Stats, bucket_range, map_text, select, value_text
from purebpf.trace.values import Buffer, Stack, TBool, decode, map_entries

RINGBUF_SIZE = 1 << 22
DEFAULT_MAX_ENTRIES = 4096
STACK_DEPTH = 127
STACK_ENTRIES = 4096
PROG_TYPES = {
    "BEGIN": ProgType.RAW_TRACEPOINT, "END": ProgType.RAW_TRACEPOINT, "tracepoint": ProgType.TRACEPOINT,
    "rawtracepoint": ProgType.RAW_TRACEPOINT, "interval": ProgType.PERF_EVENT, "profile": ProgType.PERF_EVENT,
    "software": ProgType.PERF_EVENT, "hardware": ProgType.PERF_EVENT, "uprobe": ProgType.KPROBE,
    "uretprobe": ProgType.KPROBE, "kprobe": ProgType.KPROBE, "kretprobe": ProgType.KPROBE,
}


class HeldChild:
    """The ``-c`` command, forked at once but held before ``exec`` until the
    probes are attached, so its pid (``cpid``) is known at compile time and
    none of its activity is missed."""

    def __init__(self, proc: subprocess.Popen, gate: int) -> None:
        self.proc = proc
        self.gate = gate

    @classmethod
    def spawn(cls, command: str) -> HeldChild:
        # a shell waits on a pipe, then execs the command in place: same pid, nothing runs before release
        read_end, write_end = os.pipe()
        argv = shlex.split(command)
        script = f'read -r _ <&{read_end} || exit 1; exec {read_end}<&-; exec "$@"'
        try:
            proc = subprocess.Popen(["/bin/sh", "-c", script, "sh", *argv], pass_fds=(read_end,))
        except OSError as exc:
            os.close(write_end)
            raise NotSupportedError(f"cannot run the -c command {argv[0]!r}: {exc.strerror}") from None
        finally:
            os.close(read_end)
        return cls(proc, write_end)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def release(self) -> None:
        if self.gate >= 0:
            os.write(self.gate, b"\n")
            os.close(self.gate)
            self.gate = -1

    def done(self) -> bool:
        return self.proc.poll() is not None

    def kill(self) -> None:
        if self.gate >= 0:
            os.close(self.gate)
            self.gate = -1
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Tracer:
    """One running bpftrace program.  Use as a context manager; :meth:`run`
    blocks until the program ends and returns the exit code."""

    def __init__(self, program: CompiledProgram, *, out: TextIO | None = None, json_output: bool = False,
                 pid: int | None = None, on_printf: Callable[[str, list], None] | None = None,
                 unsafe: bool = False, warnings: bool = True, log_level: int = 0) -> None:
        """``on_printf(fmt, args)``, when given, receives each printf's decoded
        arguments instead of the text being printed: tools built on the
        language format their own columns this way."""
        self.program = program
        self.on_printf = on_printf
        self.out = out or sys.stdout
        self.json = json_output
        self.pid = pid
        self.unsafe = unsafe
        self.warnings = warnings
        self.log_level = log_level
        self.maps: dict[str, Map] = {}
        self.progs: dict[int, Program] = {}
        self.links: list[Link] = []
        self.ring: RingBuffer | None = None
        self.exit_requested = False
        self.exit_code = 0
        self.enums = _enum_names(program)
        self.formats = [parse_format(ev.fmt) if ev.kind in ("printf", "system", "cat", "errorf", "warnf") else None
                        for ev in program.events]

    # -- set-up --------------------------------------------------------------------

    def load(self) -> None:
        """Create every map and load every probe's program (nothing attached yet)."""
        for name, info in self.program.maps.items():
            kind = MapType.PERCPU_HASH if info.per_cpu else MapType.HASH
            self.maps[name] = Map(MapSpec(kind, info.key_size, info.value_size,
                                          info.max_entries or DEFAULT_MAX_ENTRIES, name=name.lstrip("@") or "map"))
        if self.program.events:  # a program that sends nothing needs no 4 MiB ring mapped twice
            self.maps[RINGBUF] = Map(MapSpec(MapType.RINGBUF, 0, 0, RINGBUF_SIZE, name="ringbuf"))
        for name in self.program.stack_maps:
            self.maps[name] = Map(MapSpec(MapType.STACK_TRACE, 4, 8 * STACK_DEPTH, STACK_ENTRIES, name=name))
        fds = {name: m.fd for name, m in self.maps.items()}
        for probe in self.program.probes:
            insns = resolve_maps(probe.insns, fds)
            btf_fd = None
            extra = {}
            if probe.funcs:
                btf_fd, extra = _func_info(probe)
            try:
                spec = ProgramSpec(PROG_TYPES[probe.target.provider], insns, name=_prog_name(probe), **extra)
                self.progs[probe.index] = Program(spec, log_level=self.log_level)
            finally:
                if btf_fd is not None:
                    btf_fd.close()
        if RINGBUF in self.maps:
            self.ring = RingBuffer(self.maps[RINGBUF], self._on_event)

    def attach(self) -> int:
        """Attach every probe; returns how many attach points are live."""
        for probe in self.program.attachable:
            self.links.append(self._attach(probe, self.progs[probe.index]))
        return len(self.program.probes)  # BEGIN and END count, as bpftrace counts them

    def _attach(self, probe: CompiledProbe, prog: Program) -> Link:
        t = probe.target
        if t.provider == "tracepoint":
            return Tracepoint(prog, t.target, t.func)
        if t.provider == "rawtracepoint":
            return RawTracepoint(prog, t.func)
        if t.provider == "interval":
            return PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_period=t.period,
                             cpus=[_first_online_cpu()])
        if t.provider == "profile":
            if t.freq:
                return PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=t.period)
            return PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_period=t.period)
        if t.provider in ("software", "hardware"):
            table, kind = (SOFTWARE_EVENTS, PerfType.SOFTWARE) if t.provider == "software" else (
                HARDWARE_EVENTS, PerfType.HARDWARE)
            default = 1000 if t.provider == "software" else 1_000_000
            config = table[t.target]
            config = SoftwareEvent(config) if t.provider == "software" else HardwareEvent(config)
            return PerfEvent(prog, kind, config, sample_period=t.period or default)
        if t.provider in ("uprobe", "uretprobe"):
            return Uprobe(prog, t.target, t.func, offset=t.offset, retprobe=t.provider == "uretprobe",
                          pid=self.pid)
        if t.provider in ("kprobe", "kretprobe"):
            return Kprobe(prog, t.func, offset=t.offset, retprobe=t.provider == "kretprobe")
        raise NotSupportedError(f"{t.provider} probes are not supported by purebpf trace yet")

    # -- events ----------------------------------------------------------------------

    def _args(self, ev: Event, data: bytes) -> list:
        args, pos = [], 8
        for t in ev.arg_types:
            value = decode(t, data[pos:pos + t.padded], self.enums)
            if isinstance(value, Stack):
                self._fill_stack(value, t)
            args.append(value)
            pos += t.padded
        return args

    def _on_event(self, data: bytes) -> None:
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
        elif kind in ("errorf", "warnf"):
            text = self.formats[ident].render(self._args(ev, data))
            level = "ERROR" if kind == "errorf" else "WARNING"
            if kind == "warnf" and not self.warnings:
                return
            line = self.program.source.format_message(level, text, ev.loc)
            print(line, file=sys.stderr, flush=True)

    def _system(self, command: str) -> None:
        self.out.flush()
        proc = subprocess.run(command, shell=True, capture_output=True, text=True)
        self._emit("syscall", proc.stdout)

    def _cat(self, path: str) -> None:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError as exc:
            print(f"ERROR: failed to open file '{path}' ({exc.strerror})", file=sys.stderr, flush=True)
            return
        self._emit("cat", text)

    def _fill_stack(self, value: Stack, t) -> None:
        """Turn a stack id into its symbolised frames (bpftrace's format: ``func+off``, one per line)."""
        from purebpf.symbols import ProcessSymbols, kernel_symbols

        user = t.kind == "ustack"
        stack_id = int(value) & 0xFFFFFFFF
        pid = int(value) >> 32
        m = self.maps.get(USTACK_MAP if user else KSTACK_MAP)
        raw = m.lookup_raw(stack_id.to_bytes(4, "little")) if m is not None and stack_id < 0x80000000 else None
        frames = []
        mode, _, limit = (t.extra or "bpftrace:127").partition(":")
        syms = ProcessSymbols(pid) if user else kernel_symbols()
        if raw:
            for i in range(0, min(len(raw), 8 * int(limit or STACK_DEPTH)), 8):
                addr = int.from_bytes(raw[i:i + 8], "little")
                if not addr:
                    break
                if mode == "raw":
                    frames.append(f"{addr:x}")
                    continue
                name = syms.lookup(addr, offset=True)
                if mode == "perf":
                    frames.append(f"{addr:x} {name or '[unknown]'}")
                else:
                    frames.append(name or f"0x{addr:x}")
        value.frames = frames

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
            data = text if kind in ("printf", "time", "syscall", "cat") else value
            self.out.write(json_text({"type": kind, "data": _jsonable(data)}) + "\n")
        else:
            self.out.write(text)
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
        if info.key is not None or info.kind in ("hist", "lhist"):
            return []
        from purebpf.trace.values import combine
        return [((), combine(info, bytes(info.value_size * (self._ncpus() if info.per_cpu else 1)), self.enums))]

    @staticmethod
    def _ncpus() -> int:
        from purebpf.trace.semantic import _possible_cpus
        return _possible_cpus()

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
        info = self.program.maps[name]
        if info.kind in ("hist", "lhist"):
            kind = "hist"
            data = {_json_key(k): _json_hist(v) for k, v in entries}
        elif info.kind in ("stats", "avg") and any(isinstance(v, Stats) for _, v in entries):
            kind = "stats"
            data = {_json_key(k): ({"count": v.count, "average": v.average, "total": v.total}
                                   if info.kind == "stats" else v.average) for k, v in entries}
        else:
            kind = "map"
            data = {_json_key(k): _jsonable(v) for k, v in entries}
        if info.key is None:
            data = data.get("", [] if kind == "hist" else None)
            if data is None:
                return
        self.out.write(json_text({"type": kind, "data": {name: data}}) + "\n")
        self.out.flush()

    def print_all_maps(self) -> None:
        if not self.json:
            self.out.write("\n\n")
        for name in sorted(self.program.maps):
            self.print_map(name, at_exit=True)

    # -- running -------------------------------------------------------------------------

    def run_probe(self, provider: str) -> None:
        for probe in self.program.probes:
            if probe.target.provider == provider and not self.exit_requested:
                self.progs[probe.index].test_run(ctx=bytes(8))
                self.poll(0)

    def poll(self, timeout_ms: int) -> None:
        """Deliver the events that arrive within ``timeout_ms`` (just wait, if the program sends none)."""
        if self.ring is not None:
            self.ring.poll(timeout_ms)
        elif timeout_ms > 0:
            time.sleep(timeout_ms / 1000)

    def run(self, *, command: list[str] | None = None, on_attached: Callable[[int], None] | None = None,
            child: HeldChild | None = None) -> int:
        """Attach, run BEGIN, trace until the program ends, then END and the maps.
        Returns the exit code (``exit(code)``, else 0)."""
        stop = {"now": False}
        old = signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        if command and child is None:
            child = HeldChild.spawn(shlex.join(command))
        try:
            count = self.attach()
            if on_attached is not None:
                on_attached(count)
            self.run_probe("BEGIN")
            if child is not None:
                child.release()
            only_begin_end = not self.program.attachable and child is None
            while not (stop["now"] or self.exit_requested or only_begin_end):
                try:
                    self.poll(100)
                except KeyboardInterrupt:
                    break
                if child is not None and child.done():
                    self.poll(0)
                    break
                if self.pid is not None and not os.path.exists(f"/proc/{self.pid}"):
                    break
        finally:
            signal.signal(signal.SIGTERM, old)
            self.detach()
        self.poll(0)
        self.exit_requested = False
        self.run_probe("END")
        self.print_all_maps()
        if child is not None:
            child.kill()
        return self.exit_code

    def detach(self) -> None:
        for link in self.links:
            try:
                link.close()
            except BPFError:
                pass
        self.links = []

    def close(self) -> None:
        self.detach()
        if self.ring is not None:
            self.ring.close()
            self.ring = None
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


def _enum_names(program: CompiledProgram) -> dict[str, dict[int, str]]:
    from purebpf.trace.cdefs import parse_cdefs
    return parse_cdefs(program.ast.c_definitions).enums


def _func_info(probe: CompiledProbe):
    """BTF describing the probe's functions: the kernel requires it once a program has callbacks."""
    import struct

    from purebpf.btf import BTFBuilder, load_btf
    from purebpf.btf.kinds import Linkage

    b = BTFBuilder()
    long_ = b.add_int("long", 8, signed=True)
    records = []
    main_proto = b.add_func_proto(long_, [("ctx", long_)])
    records.append((0, b.add_func(_prog_name(probe) or "probe", main_proto, Linkage.GLOBAL)))
    for slot, name, nparams in probe.funcs:
        proto = b.add_func_proto(long_, [(f"a{i}", long_) for i in range(nparams)])
        records.append((slot, b.add_func(name, proto, Linkage.STATIC)))
    fd = load_btf(b.to_bytes())
    info = b"".join(struct.pack("<II", slot, type_id) for slot, type_id in records)
    return fd, {"prog_btf_fd": fd.raw, "func_info": info, "func_info_rec_size": 8}


def _prog_name(probe: CompiledProbe) -> str:
    t = probe.target
    return (t.func or t.provider)[:15]


def _first_online_cpu() -> int:
    text = open("/sys/devices/system/cpu/online").read().strip()
    return int(text.split(",")[0].split("-")[0])


def json_text(value: object) -> str:
    """JSON as bpftrace writes it: ``", "`` and ``": "`` in objects, bare ``,`` in arrays."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        sep = ", " if isinstance(value, _Buckets) else ","
        return "[" + sep.join(json_text(v) for v in value) + "]"
    return json.dumps(value)


def _json_key(key: tuple) -> str:
    return ",".join(str(k) for k in key)


def _jsonable(v: object) -> object:
    if isinstance(v, TBool):
        return bool(v)
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Buffer):
        return str(v)
    if isinstance(v, Stats):
        return v.average
    if isinstance(v, int) and type(v) is not int:
        return int(v) if type(v).__name__ in ("EnumValue", "Pointer") else str(v)
    return v


class _Buckets(list):
    """Histogram buckets: bpftrace separates these array items with ", " (tuples get a bare ",")."""


def _json_hist(h: Hist | LHist) -> list[dict]:
    out = _Buckets()
    for i in bucket_range(h.buckets):
        lo, hi = h.bounds(i)
        entry = {"min": lo, "max": hi, "count": h.buckets[i]}
        out.append({k: v for k, v in entry.items() if v is not None})
    return out
