"""The ``purebpf run`` loop: attach, read every event map, print, stop cleanly.

    with purebpf.load(path, rodata=...) as obj:
        Session(obj, RunConfig(json=True, duration=5)).run()

Stops on Ctrl-C, SIGTERM, ``duration`` or the end of the command it started;
then it reads what is left in the buffers, prints the histograms one last
time, and the caller's ``with`` detaches everything.  Signals only set a flag
(the loop wakes at least every 100 ms to see it), so a record is never cut
half-printed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from purebpf.elf.record_readers import EventReader, event_maps
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.runner.hist import HistLayout, hist_json, hist_layout, linear_lines, log2_lines, read_hists, require_layout
from purebpf.runner.output import JsonPrinter, TablePrinter
from purebpf.runner.package import Sample

if TYPE_CHECKING:
    from purebpf.object import BPFObject

_TICK = 0.1  # longest wait between looks at the stop flag


@dataclass
class RunConfig:
    json: bool = False
    event_type: str | None = None
    samples: list[Sample] = field(default_factory=list)   # maps to print at an interval
    duration: float | None = None
    command: list[str] | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)


class Session:
    def __init__(self, obj: BPFObject, config: RunConfig) -> None:
        self.obj, self.config = obj, config
        self.readers: list[EventReader] = []
        self.hists: list[tuple[Sample, HistLayout | None]] = []
        self._stop = False

    # -- set-up ----------------------------------------------------------------------------

    def _open_readers(self) -> None:
        cfg = self.config
        names = event_maps(self.obj)
        for name in names:
            reader = EventReader(self.obj, name, event_type=cfg.event_type)
            self.readers.append(reader)
            if cfg.json:
                printer: JsonPrinter | TablePrinter = JsonPrinter(cfg.out)
            else:
                printer = TablePrinter(cfg.out, reader.decoder.fields if reader.decoder else None,
                                       title=f"== {name} ==" if len(names) > 1 else None)
            printer.header()
            reader.callback = printer.row

    def _resolve_hists(self) -> None:
        spec = self.obj.spec
        for sample in self.config.samples:
            mdef = spec.maps.get(sample.map_name)
            if mdef is None:
                raise NotFoundError(f"{spec.path} has no map '{sample.map_name}' "
                                    f"(maps: {', '.join(m for m in spec.maps if not spec.maps[m].is_data)})")
            layout = None if sample.type == "default_kv" else require_layout(spec.btf, mdef)
            self.hists.append((sample, layout))

    def auto_samples(self) -> list[Sample]:
        """With nothing else to print: every map holding per-key histograms, at exit."""
        spec = self.obj.spec
        return [Sample(m.name, 0) for m in spec.maps.values()
                if not m.is_data and (lay := hist_layout(spec.btf, m)) is not None and lay.per_key]

    # -- running ---------------------------------------------------------------------------

    def run(self) -> int:
        cfg = self.config
        self._resolve_hists()
        links = self.obj.attach()
        try:
            self._open_readers()
            if not self.readers and not self.hists:
                self.hists = [(s, hist_layout(self.obj.spec.btf, self.obj.spec.maps[s.map_name]))
                              for s in self.auto_samples()]
            self._announce(len(links))
            proc = _start(cfg.command) if cfg.command else None
            old = self._install_signals()
            try:
                self._loop(proc)
            finally:
                self._restore_signals(old)
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait()
            self._drain()
            self._print_hists()
            cfg.out.flush()
        finally:
            for reader in self.readers:
                reader.close()
            self.readers = []
        return 0

    def _announce(self, attached: int) -> None:
        from purebpf.elf.attach import can_auto_attach

        err = self.config.err
        what = [f"events from {', '.join(r.map_name for r in self.readers)}"] if self.readers else []
        what += [f"histogram {s.map_name}" for s, _ in self.hists]
        print(f"purebpf run: {self.obj.spec.name}: attached {attached} program{'s' if attached != 1 else ''}"
              f"{'; reading ' + ', '.join(what) if what else ''}; Ctrl-C to stop", file=err)
        for name, section in self.obj.spec.programs.items():
            if not can_auto_attach(section):
                print(f"purebpf run: program '{name}' in SEC(\"{section.name}\") is loaded but not attached "
                      "(its section name does not say where)", file=err)
        err.flush()
        self.config.out.flush()  # the column headers now, not after the first poll's 100 ms

    def _install_signals(self) -> dict[int, Any]:
        def stop(signum, frame) -> None:
            self._stop = True
        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, stop)
            except ValueError:  # not the main thread: the caller stops us
                pass
        return old

    @staticmethod
    def _restore_signals(old: dict[int, Any]) -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    def _loop(self, proc: subprocess.Popen | None) -> None:
        cfg = self.config
        start = time.monotonic()
        deadline = start + cfg.duration if cfg.duration else None
        intervals = [s.interval for s, _ in self.hists if s.interval > 0]
        period = min(intervals) if intervals else None
        next_hist = start + period if period else None
        out = cfg.out
        while not self._stop:
            now = time.monotonic()
            wait = _TICK
            if deadline is not None:
                wait = min(wait, deadline - now)
            if next_hist is not None:
                wait = min(wait, next_hist - now)
            wait = max(wait, 0.0)
            if self.readers:
                share = int(wait * 1000 / len(self.readers))
                for reader in self.readers:
                    reader.poll(share)
                out.flush()
            else:
                time.sleep(wait)
            now = time.monotonic()
            if next_hist is not None and now >= next_hist:
                self._print_hists()
                next_hist += period
            if deadline is not None and now >= deadline:
                break
            if proc is not None and proc.poll() is not None:
                break

    def _drain(self) -> None:
        for reader in self.readers:
            reader.consume()
            lost = reader.lost
            if lost:
                print(f"purebpf run: lost {lost} events from '{reader.map_name}' (the perf buffer was full)",
                      file=self.config.err)

    # -- histograms ------------------------------------------------------------------------

    def _print_hists(self) -> None:
        if not self.hists:
            return
        cfg = self.config
        out = cfg.out
        if not cfg.json:
            out.write(f"\n{time.strftime('%H:%M:%S')}\n")
        for sample, layout in self.hists:
            m = self.obj.maps[sample.map_name]
            if layout is None:
                self._print_kv(sample)
                continue
            hists = read_hists(m, layout, self.obj.spec.btf)
            kind = "linear" if sample.type == "linear_hist" else "log2"
            if cfg.json:
                out.write(json.dumps(hist_json(sample.map_name, hists, kind)) + "\n")
            else:
                unit = sample.unit if sample.unit not in ("", "(unit)") else "value"
                for label, counts in hists:
                    if label:
                        out.write(f"{label}\n")
                    lines = (linear_lines if kind == "linear" else log2_lines)(counts, unit)
                    out.write("\n".join(lines) + ("\n" if lines else ""))
            if sample.clear_map:
                _clear(m)
        out.flush()

    def _print_kv(self, sample: Sample) -> None:
        m = self.obj.maps[sample.map_name]
        spec = self.obj.spec
        mdef = spec.maps[sample.map_name]
        from purebpf.maps.btf_codec import BTFCodec
        btf = spec.btf
        kc = BTFCodec(btf, mdef.btf_key_type_id) if btf is not None and mdef.btf_key_type_id else None
        vc = BTFCodec(btf, mdef.btf_value_type_id) if btf is not None and mdef.btf_value_type_id else None
        rows = [{"key": kc.decode(k) if kc else k.hex(), "value": vc.decode(v[:mdef.value_size]) if vc else v.hex()}
                for k, v in m.items_raw()]
        if self.config.json:
            self.config.out.write(json.dumps({"map": sample.map_name, "entries": rows}) + "\n")
        else:
            for row in rows:
                self.config.out.write(f"{row['key']}: {row['value']}\n")
        if sample.clear_map:
            _clear(m)


def _clear(m) -> None:
    """Empty a sampled map after printing it (eunomia's clear_map): arrays are zeroed."""
    from purebpf.sys import MapType
    if m.type in (MapType.ARRAY, MapType.PERCPU_ARRAY):
        zero = bytes(m.value_bytes)
        for key in list(m.keys_raw()):
            m.update_raw(key, zero)
        return
    for key in list(m.keys_raw()):
        m.delete_raw(key)


def _start(command: list[str]) -> subprocess.Popen:
    try:
        return subprocess.Popen(command)
    except OSError as exc:
        raise InvalidInputError(f"cannot run {command[0]!r} after '--': {exc.strerror}") from None
