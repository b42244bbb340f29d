"""Running a compiled bpftrace program: create its maps, load and attach its
probes, print what the probes send, and print the maps at exit.

The life cycle mirrors bpftrace: BEGIN runs once everything is attached, a
Ctrl-C, SIGTERM, ``exit()`` or the end of the ``-c`` command stops tracing,
probes are detached, END runs, and the maps are printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import TextIO

from purebpf.asm import resolve_maps
from purebpf.errors import BPFError, NotSupportedError
from purebpf.events import RingBuffer
from purebpf.links import Kprobe, Link, PerfEvent, RawTracepoint, Tracepoint, Uprobe
from purebpf.maps import Map, MapSpec
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import MapType, ProgType
from purebpf.sys.cpus import online_cpus
from purebpf.sys.perf import HardwareEvent, PerfType, SoftwareEvent
from purebpf.trace.codegen import RINGBUF, Event
from purebpf.trace.compiler import CompiledProbe, CompiledProgram
from purebpf.trace.printf import parse_format
from purebpf.trace.probes import HARDWARE_EVENTS, SOFTWARE_EVENTS
from purebpf.trace.render import Avg, Hist, LHist, Stats, map_text, value_text
from purebpf.trace.values import decode, map_entries

RINGBUF_SIZE = 1 << 22
DEFAULT_MAX_ENTRIES = 4096
PROG_TYPES = {
    "BEGIN": ProgType.RAW_TRACEPOINT, "END": ProgType.RAW_TRACEPOINT, "tracepoint": ProgType.TRACEPOINT,
    "rawtracepoint": ProgType.RAW_TRACEPOINT, "interval": ProgType.PERF_EVENT, "profile": ProgType.PERF_EVENT,
    "software": ProgType.PERF_EVENT, "hardware": ProgType.PERF_EVENT, "uprobe": ProgType.KPROBE,
    "uretprobe": ProgType.KPROBE, "kprobe": ProgType.KPROBE, "kretprobe": ProgType.KPROBE,
}


class Tracer:
    """One running bpftrace program.  Use as a context manager; :meth:`run`
    blocks until the program ends and returns the exit code."""

    def __init__(self, program: CompiledProgram, *, out: TextIO | None = None, json_output: bool = False,
                 pid: int | None = None, on_printf: Callable[[str, list], None] | None = None) -> None:
        """``on_printf(fmt, args)``, when given, receives each printf's decoded
        arguments instead of the text being printed: tools built on the
        language format their own columns this way."""
        self.program = program
        self.on_printf = on_printf
        self.out = out or sys.stdout
        self.json = json_output
        self.pid = pid
        self.maps: dict[str, Map] = {}
        self.progs: dict[int, Program] = {}
        self.links: list[Link] = []
        self.ring: RingBuffer | None = None
        self.exit_requested = False
        self.formats = [parse_format(ev.fmt) if ev.kind == "printf" else None for ev in program.events]

    # -- set-up --------------------------------------------------------------------

    def load(self) -> None:
        """Create every map and load every probe's program (nothing attached yet)."""
        for name, info in self.program.maps.items():
            kind = MapType.PERCPU_HASH if info.per_cpu else MapType.HASH
            self.maps[name] = Map(MapSpec(kind, info.key_size, info.value_size, DEFAULT_MAX_ENTRIES,
                                          name=name.lstrip("@") or "map"))
        self.maps[RINGBUF] = Map(MapSpec(MapType.RINGBUF, 0, 0, RINGBUF_SIZE, name="ringbuf"))
        fds = {name: m.fd for name, m in self.maps.items()}
        for probe in self.program.probes:
            insns = resolve_maps(probe.insns, fds)
            spec = ProgramSpec(PROG_TYPES[probe.target.provider], insns, name=_prog_name(probe))
            self.progs[probe.index] = Program(spec)
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
                             cpus=online_cpus()[:1])
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

    def _on_event(self, data: bytes) -> None:
        ident = int.from_bytes(data[:8], "little")
        ev = self.program.events[ident]
        if ev.kind == "printf":
            args, pos = [], 8
            for t in ev.arg_types:
                args.append(decode(t, data[pos:pos + t.padded]))
                pos += t.padded
            if self.on_printf is not None:
                self.on_printf(ev.fmt, args)
            else:
                self._emit("printf", self.formats[ident].render(args))
        elif ev.kind == "print":
            value = decode(ev.arg_types[0], data[8:8 + ev.arg_types[0].padded])
            self._emit("value", value_text(value) + "\n", value)
        elif ev.kind == "print_map":
            self.print_map(ev.map_name)
        elif ev.kind == "exit":
            self.exit_requested = True
        elif ev.kind in ("clear", "zero"):
            self._reset_map(ev)

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
            data = text if kind == "printf" else value
            self.out.write(json.dumps({"type": kind, "data": _jsonable(data)}) + "\n")
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
        return map_entries(self.program.maps[name], items)

    def print_map(self, name: str) -> None:
        entries = self.entries(name)
        if self.json:
            self._emit_json_map(name, entries)
        else:
            self.out.write(map_text(name, entries))
            self.out.flush()

    def _emit_json_map(self, name: str, entries: list[tuple[tuple, object]]) -> None:
        if not entries:
            return
        first = entries[0][1]
        if isinstance(first, (Hist, LHist)):
            kind = "hist"
            data = {_json_key(k): _json_hist(v) for k, v in entries}
        elif isinstance(first, Stats) and not isinstance(first, Avg):
            kind = "stats"
            data = {_json_key(k): {"count": v.count, "average": v.average, "total": v.total} for k, v in entries}
        else:
            kind = "map"
            data = {_json_key(k): _jsonable(v) for k, v in entries}
        if list(data) == [""]:
            data = data[""]
        self.out.write(json.dumps({"type": kind, "data": {name: data}}) + "\n")
        self.out.flush()

    def print_all_maps(self) -> None:
        if not self.json:
            self.out.write("\n\n")
        for name in sorted(self.program.maps):
            self.print_map(name)

    # -- running -------------------------------------------------------------------------

    def run_probe(self, provider: str) -> None:
        for probe in self.program.probes:
            if probe.target.provider == provider:
                self.progs[probe.index].test_run(ctx=bytes(8))

    def poll(self, timeout_ms: int) -> None:
        assert self.ring is not None
        self.ring.poll(timeout_ms)

    def run(self, *, command: list[str] | None = None, on_attached: Callable[[int], None] | None = None) -> int:
        """Attach, run BEGIN, trace until the program ends, then END and the maps."""
        stop = {"now": False}
        old = signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        child = None
        try:
            count = self.attach()
            if on_attached is not None:
                on_attached(count)
            self.run_probe("BEGIN")
            self.poll(0)
            if command:
                child = subprocess.Popen(command)
            only_begin_end = not self.program.attachable and not command
            while not (stop["now"] or self.exit_requested or only_begin_end):
                try:
                    self.poll(100)
                except KeyboardInterrupt:
                    break
                if child is not None and child.poll() is not None:
                    break
                if self.pid is not None and not os.path.exists(f"/proc/{self.pid}"):
                    break
        finally:
            signal.signal(signal.SIGTERM, old)
            self.detach()
        self.run_probe("END")
        self.poll(0)
        self.print_all_maps()
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()
        return 0

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


def _prog_name(probe: CompiledProbe) -> str:
    t = probe.target
    return (t.func or t.provider)[:15]


def _json_key(key: tuple) -> str:
    return ",".join(str(k) for k in key)


def _jsonable(v: object) -> object:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, Avg):
        return v.average
    return v


def _json_hist(h: Hist | LHist) -> list[dict]:
    out = []
    for i, count in enumerate(h.buckets):
        if not count:
            continue
        if isinstance(h, LHist):
            lo = None if i == 0 else h.lo + (i - 1) * h.step
            hi = None if i == len(h.buckets) - 1 else h.lo + i * h.step - 1
        else:
            lo = None if i == 0 else (0 if i == 1 else 1 << (i - 2))
            hi = -1 if i == 0 else (0 if i == 1 else (1 << (i - 1)) - 1)
        entry = {"min": lo, "max": hi, "count": count}
        out.append({k: v for k, v in entry.items() if v is not None})
    return out
