"""Perf event links: a PERF_EVENT program run on sampling events, one perf
event per CPU (the way ``profile:hz:99`` works).

    link = PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=99)

Needs Linux 4.9 (a bpf_link per CPU from 5.15).  Software events (cpu-clock,
task-clock, page faults...) exist everywhere; hardware events need a
hardware PMU, which virtual machines often lack: that is a NotSupportedError
saying so.  ``pid`` samples one process (on every CPU it runs on) instead of
whole CPUs.  The program's ctx is ``struct bpf_perf_event_data``.  Closing
the link closes every per-CPU event.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from purebpf.errors import InvalidInputError, NotSupportedError, SyscallError
from purebpf.links.attach import require_program
from purebpf.links.perf_attach import PerfEventGroup
from purebpf.programs import Program
from purebpf.sys import ProgType
from purebpf.sys.cpus import online_cpus
from purebpf.sys.perf import HardwareEvent, PerfType, SoftwareEvent, open_event

DEFAULT_FREQ = 99  # Hz: off the timer tick's multiples, as perf and bpftrace pick


class PerfEvent(PerfEventGroup):
    """Per-CPU perf events, each with the program attached; :attr:`links` holds
    one :class:`PerfEventLink` per CPU (or one for a ``pid``)."""

    kind = "perf event"

    def __init__(self, prog: Program, type_: PerfType | int, config: int, *, sample_freq: int = 0,
                 sample_period: int = 0, cpus: Iterable[int] | None = None, pid: int = -1,
                 cookie: int = 0) -> None:
        require_program(prog, [ProgType.PERF_EVENT], "a perf event")
        if sample_freq and sample_period:
            raise InvalidInputError("give sample_freq or sample_period, not both")
        if sample_freq < 0 or sample_period < 0:
            raise InvalidInputError(f"sampling must be positive (freq {sample_freq}, period {sample_period})")
        if not sample_period:
            sample_freq = sample_freq or DEFAULT_FREQ
        if not isinstance(pid, int) or pid < -1 or pid == 0:
            raise InvalidInputError(f"invalid pid {pid!r}: a process id, or -1 for all processes")
        online = online_cpus()
        if cpus is None:
            targets = [-1] if pid != -1 else online
        else:
            targets = list(cpus)
            bad = [c for c in targets if c not in online]
            if bad or not targets:
                raise InvalidInputError(f"CPUs {bad or '[]'} are not online (online: {online})")
        self.event = _event_name(type_, config)
        super().__init__()

        def events():
            for cpu in targets:
                what = f"perf event {self.event} on " + (f"CPU {cpu}" if cpu >= 0 else f"pid {pid}")
                yield _open(type_, config, pid, cpu, sample_freq, sample_period, what, self.event), what, cookie

        self._attach_each(prog, events())

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"attached on {len(self.links)} event(s)"
        return f"<PerfEvent {self.event} {state}>"


def _open(type_: int, config: int, pid: int, cpu: int, freq: int, period: int, what: str, event: str) -> int:
    try:
        return open_event(type_, config, pid=pid, cpu=cpu, sample_freq=freq, sample_period=period, what=what)
    except SyscallError as exc:
        if exc.errno in (errno.ENOENT, errno.EOPNOTSUPP, errno.ENODEV) and type_ != PerfType.SOFTWARE:
            raise NotSupportedError(
                f"perf event {event} is not available on this machine ({errno.errorcode[exc.errno]}: no "
                "hardware PMU for it; virtual machines often have none); use a software event such as "
                "cpu-clock (PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK)") from None
        raise


def _event_name(type_: int, config: int) -> str:
    """A readable name for messages: "cpu-clock", "cpu-cycles", else type:config."""
    table = {PerfType.SOFTWARE: SoftwareEvent, PerfType.HARDWARE: HardwareEvent}.get(type_)
    if table is not None:
        try:
            return table(config).name.lower().replace("_", "-")
        except ValueError:
            pass
    return f"{int(type_)}:{config:#x}"
