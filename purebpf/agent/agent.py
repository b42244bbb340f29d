"""The agent: keeps the configured probes attached, turns their maps into
metrics on demand, serves them over HTTP, optionally pushes them by remote
write, and detaches everything on SIGTERM.

A probe that cannot start (missing tracepoint, refused program) is recorded
as failed with its reason and the others keep running; ``/probes`` and the
log say which.

Counters stay monotonic across a probe's restarts (``PUT /probes/NAME`` with
new parameters, or off and on again): the kernel maps of the old instance
are read one last time as it stops and their totals are carried into every
later collection of that probe.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from purebpf.agent import host
from purebpf.agent.config import AgentConfig, ProbeConfig, parse_probe
from purebpf.agent.exposition import render
from purebpf.agent.filters import CgroupNames
from purebpf.agent.metrics import CardinalityCap, Family
from purebpf.agent.probes import PROBES, Probe, ProbeContext
from purebpf.errors import BPFError, InvalidInputError, NotFoundError

log = logging.getLogger("purebpf.agent")
POLL_INTERVAL = 0.25


@dataclass
class ProbeState:
    name: str
    config: ProbeConfig
    status: str = "off"  # "running", "off" or "failed"
    error: str = ""
    probe: Probe | None = None
    started_at: float = 0.0
    metric_names: list[str] = field(default_factory=list)
    carried: dict[str, Family] = field(default_factory=dict)  # totals of earlier instances, by family name
    carried_lost: int = 0

    def carry(self, families: list[Family], lost: int) -> None:
        """Add a stopping instance's final counters and histograms to the carried totals."""
        self.carried_lost += lost
        for fam in families:
            if fam.kind == "gauge":
                continue
            old = self.carried.get(fam.name)
            self.carried[fam.name] = fam if old is None else _summed(old, fam)

    def with_carried(self, fam: Family) -> Family:
        old = self.carried.get(fam.name)
        return fam if old is None else _summed(old, fam)

    def describe(self) -> dict[str, Any]:
        cls = PROBES[self.name]
        return {"name": self.name, "enabled": self.config.enabled, "status": self.status, "error": self.error,
                "params": self.config.params, "help": cls.help, "metrics": sorted(cls.metrics)}


class Agent:
    """Use as a context manager; :meth:`run` blocks until SIGTERM/SIGINT or :meth:`stop`."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.cap = CardinalityCap(config.cardinality_limit)
        self.cgroups = CgroupNames() if config.cgroup_labels else None
        self.ctx = ProbeContext(log=log.info, cgroups=self.cgroups, map_entries=config.map_capacity)
        self.states = {name: ProbeState(name, pc) for name, pc in config.probes.items()}
        self.stopping = threading.Event()
        self.server: Any = None
        self.writer: Any = None
        self.scrape_seconds = 0.0
        self.token = _read_token(config)
        static = {}
        if config.host_labels:
            static = {"hostname": host.hostname(), "machine_id": host.machine_id()}
        static.update(config.labels)
        self.static_labels = static
        for state in self.states.values():  # bad parameters or filters: fail now, with nothing attached
            if state.config.enabled:
                PROBES[state.name](state.config.params, config.filters, self.ctx).check()

    # -- probes -------------------------------------------------------------------

    def start_probes(self) -> None:
        for state in self.states.values():
            if state.config.enabled:
                self._start(state)

    def _start(self, state: ProbeState) -> None:
        cls = PROBES[state.name]
        probe = cls(state.config.params, self.config.filters, self.ctx)
        try:
            probe.start()
        except (BPFError, OSError) as exc:
            state.status, state.error, state.probe = "failed", _one_line(exc), None
            log.warning("probe %s cannot attach: %s", state.name, state.error)
            return
        state.status, state.error, state.probe, state.started_at = "running", "", probe, time.time()
        log.info("probe %s attached", state.name)

    def _stop(self, state: ProbeState) -> None:
        probe = state.probe
        if probe is not None:
            try:
                state.carry(probe.collect(), probe.lost())
            except BPFError as exc:
                log.warning("probe %s: its last counts are lost, reading its maps failed: %s", state.name,
                            _one_line(exc))
            probe.stop()
        state.probe = None
        state.status = "off"
        state.error = ""

    def set_probe(self, name: str, settings: dict[str, Any]) -> ProbeState:
        """Turn a probe on or off or change its parameters (``PUT /probes/NAME``); a change restarts it."""
        state = self.states.get(name)
        if state is None:
            raise NotFoundError(f"no probe named {name!r} (probes: {', '.join(self.states)})")
        if not isinstance(settings, dict):
            raise InvalidInputError("expected a JSON object such as {\"enabled\": true, \"params\": {...}}")
        unknown = set(settings) - {"enabled", "params"}
        if unknown:
            raise InvalidInputError(f"unknown field {sorted(unknown)[0]!r} (fields: enabled, params)")
        merged: dict[str, Any] = dict(settings.get("params") or {})
        if "enabled" in settings:
            merged["enabled"] = settings["enabled"]
        new = parse_probe(name, merged, state.config)
        if new.enabled:
            PROBES[name](new.params, self.config.filters, self.ctx).check()
        with self.lock:
            if new == state.config and (state.status == "running") == new.enabled:
                return state
            self._stop(state)
            state.config = new
            if new.enabled:
                self._start(state)
        log.info("probe %s is now %s", name, state.status)
        return state

    def poll(self) -> None:
        for state in list(self.states.values()):
            probe = state.probe
            if probe is not None:
                try:
                    probe.poll()
                except BPFError as exc:
                    log.warning("probe %s: %s", state.name, _one_line(exc))

    # -- metrics ------------------------------------------------------------------

    def collect(self) -> list[Family]:
        """Every family with static labels added and the cardinality cap applied."""
        t0 = time.perf_counter()
        families: list[Family] = []
        with self.lock:
            for state in self.states.values():
                if state.probe is None:
                    continue
                try:
                    fams = state.probe.collect()
                except BPFError as exc:
                    log.warning("probe %s: reading its maps failed: %s", state.name, _one_line(exc))
                    continue
                families += [self.cap.apply(state.with_carried(f)) for f in fams]
            families += self._own_families()
        self.scrape_seconds = time.perf_counter() - t0
        return [self._labelled(f) for f in families]

    def _labelled(self, fam: Family) -> Family:
        if not self.static_labels:
            return fam
        names = tuple(self.static_labels)
        values = tuple(self.static_labels.values())
        out = Family(fam.name, fam.kind, fam.help, names + fam.labels)
        out.samples = {values + k: v for k, v in fam.samples.items()}
        return out

    def _own_families(self) -> list[Family]:
        up = Family("purebpf_agent_probe_up", "gauge", "1 when the probe is attached, 0 when off or failed.",
                    ("probe", "status"))
        lost = Family("purebpf_agent_lost_events", "counter",
                      "Probe program runs the kernel skipped (recursion misses): events not counted.", ("probe",))
        entries = Family("purebpf_agent_map_entries", "gauge", "Entries in a probe's BPF map.", ("probe", "map"))
        capacity = Family("purebpf_agent_map_capacity", "gauge",
                          "Maximum entries of a probe's BPF map; new keys are dropped when full.", ("probe", "map"))
        for state in self.states.values():
            up.add((state.name, state.status), 1 if state.status == "running" else 0)
            if state.probe is None:
                continue
            lost.add((state.name,), state.carried_lost + state.probe.lost())
            for usage in state.probe.map_usage():
                entries.add((state.name, usage.name), usage.entries)
                capacity.add((state.name, usage.name), usage.capacity)
        collapsed = Family("purebpf_agent_collapsed_series", "counter",
                           "Label sets folded into the 'other' series by the cardinality limit.", ("metric",))
        for name, count in self.cap.collapsed.items():
            collapsed.add((name,), count)
        cpu = Family("process_cpu_seconds", "counter", "Total user and system CPU time spent in seconds.")
        cpu.add((), round(host.cpu_seconds(), 3))
        rss = Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        rss.add((), host.rss_bytes())
        start = Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
        start.add((), host.start_time_seconds())
        scrape = Family("purebpf_agent_collect_seconds", "gauge", "Time the previous collection took.")
        scrape.add((), round(self.scrape_seconds, 6))
        out = [up, lost, entries, capacity, collapsed, cpu, rss, start, scrape]
        if self.writer is not None:
            failures = Family("purebpf_agent_remote_write_failures", "counter", "Remote write pushes that failed.")
            failures.add((), self.writer.failures)
            out.append(failures)
        return out

    def exposition(self, *, openmetrics: bool = False) -> str:
        return render(self.collect(), openmetrics=openmetrics)

    def folded_stacks(self) -> str | None:
        """The CPU profile as folded stacks, or None when the profile probe is not running."""
        state = self.states.get("profile")
        probe = state.probe if state is not None else None
        if probe is None:
            return None
        return probe.folded()  # type: ignore[attr-defined]

    # -- running ------------------------------------------------------------------

    def serve(self) -> None:
        """Bind the HTTP port first, so a port in use fails before any probe is loaded."""
        from purebpf.agent.server import start_server
        self.server = start_server(self)

    def run(self, *, handle_signals: bool = True) -> None:
        old: dict[int, Any] = {}
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                old[sig] = signal.signal(sig, lambda *_: self.stopping.set())
        try:
            if self.config.remote_write is not None:
                from purebpf.agent.remote_write import RemoteWriter
                self.writer = RemoteWriter(self.config.remote_write)
            next_push = time.monotonic()
            while not self.stopping.is_set():
                self.poll()
                if self.writer is not None and time.monotonic() >= next_push:
                    self.writer.push(self.collect())
                    next_push = time.monotonic() + self.config.remote_write.interval  # type: ignore[union-attr]
                self.stopping.wait(POLL_INTERVAL)
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Detach every probe and stop serving."""
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        detached = 0
        with self.lock:
            for state in self.states.values():
                if state.probe is not None:
                    state.probe.stop()
                    state.probe = None
                    state.status = "off"
                    detached += 1
        if detached:
            log.info("all probes detached")

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _summed(a: Family, b: Family) -> Family:
    """``a`` plus ``b``, series by series; ``b`` alone when their labels differ (cannot be summed)."""
    if a.labels != b.labels or a.kind != b.kind:
        return b
    out = Family(b.name, b.kind, b.help, b.labels, dict(a.samples))
    for key, value in b.samples.items():
        out.add(key, value)
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_token(config: AgentConfig) -> str | None:
    if config.token_file is None:
        if not config.loopback_only:
            raise InvalidInputError(f"listen {config.listen} is not loopback: set token_file to a file holding the "
                                    "bearer token that the control API will require")
        return None
    try:
        with open(config.token_file) as f:
            token = f.read().strip()
    except OSError as exc:
        raise InvalidInputError(f"token_file {config.token_file}: {exc.strerror}") from None
    if not token:
        raise InvalidInputError(f"token_file {config.token_file} is empty: put the bearer token in it")
    return token
