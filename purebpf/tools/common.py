"""What every tool shares: flags as libbpf-tools spell them, checks that turn
bad input into one-line errors, the output (text columns or JSON lines), the
clock columns, and the poll loop that stops on Ctrl-C, SIGTERM or -d."""

from __future__ import annotations

import os
import sys
import time

from purebpf.errors import InvalidInputError

TYPE_CHECKING = False  # typing and argparse cost ~4 ms to import; a tool's start-up path needs neither
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any, TextIO

HIDDEN = "==SUPPRESS=="  # argparse.SUPPRESS: a flag's help that keeps it out of -h


def cfmt(fmt: str, *values: Any) -> str:
    """printf-style formatting: the libbpf-tools format strings are kept as
    they are, so the columns match the C tools byte for byte."""
    return fmt % values


# -- argument types (argparse prints a bad value's ArgumentTypeError as it is) --------------


def bad_value(message: str) -> Exception:
    """argparse's ArgumentTypeError, imported only when a value is bad."""
    from argparse import ArgumentTypeError

    return ArgumentTypeError(message)


def positive_int(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise bad_value(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise bad_value(f"'{text}' must be positive")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise bad_value(f"'{text}' is not a whole number") from None
    if value < 0:
        raise bad_value(f"'{text}' must not be negative")
    return value


def port_list(text: str) -> list[int]:
    try:
        ports = [int(p, 10) for p in text.split(",")]
    except ValueError:
        raise bad_value(f"'{text}' is not a comma-separated list of ports") from None
    if not ports or any(not 0 < p < 65536 for p in ports):
        raise bad_value(f"'{text}': ports are 1 to 65535")
    return ports


# -- flags ------------------------------------------------------------------------------


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--json", action="store_true", help="print JSON lines instead of columns")


def add_pid(p: argparse.ArgumentParser, *flags: str, help: str = "trace this PID only") -> None:
    p.add_argument(*(flags or ("-p", "--pid")), dest="pid", type=positive_int, metavar="PID", help=help)


def add_duration(p: argparse.ArgumentParser, *flags: str) -> None:
    p.add_argument(*(flags or ("-d", "--duration")), dest="duration", type=positive_int, metavar="DURATION",
                   help="trace for DURATION seconds, then stop")


def add_interval_count(p: argparse.ArgumentParser) -> None:
    p.add_argument("interval", nargs="?", type=positive_int, help="print a summary every INTERVAL seconds")
    p.add_argument("count", nargs="?", type=positive_int, help="stop after COUNT summaries")


def require_process(pid: int | None, what: str = "PID") -> None:
    """Tracing a PID that does not exist would print nothing forever: say so."""
    if pid is not None and not os.path.exists(f"/proc/{pid}"):
        raise InvalidInputError(f"no process with {what} {pid}: check it with 'ps -p {pid}'")


def require_thread(tid: int | None) -> None:
    if tid is not None and not os.path.exists(f"/proc/{tid}") and not _thread_exists(tid):
        raise InvalidInputError(f"no thread with TID {tid}: list threads with 'ps -eLf'")


def _thread_exists(tid: int) -> bool:
    try:
        return any(os.path.exists(f"/proc/{p}/task/{tid}") for p in os.listdir("/proc") if p.isdigit())
    except OSError:
        return False


# -- output ---------------------------------------------------------------------------------


class Output:
    """Rows as text columns, or as one JSON object per line with ``--json``.
    Header lines only appear in text mode."""

    def __init__(self, json_mode: bool, stream: TextIO | None = None) -> None:
        self.json = json_mode
        self.stream = stream or sys.stdout

    def header(self, line: str) -> None:
        Stopper.catch()  # a header says "ready": a SIGTERM from then on must end the tool cleanly
        if not self.json:
            self.stream.write(line + "\n")
        self.stream.flush()

    def text(self, line: str) -> None:
        """A line shown only in text mode (banners, blank separators)."""
        if not self.json:
            self.stream.write(line + "\n")

    def row(self, line: str, record: dict[str, Any]) -> None:
        self.stream.write((_dumps(record) if self.json else line) + "\n")

    def record(self, record: dict[str, Any]) -> None:
        """A JSON-only record (summaries print their own text)."""
        if self.json:
            self.stream.write(_dumps(record) + "\n")

    def flush(self) -> None:
        self.stream.flush()


def _dumps(record: dict[str, Any]) -> str:
    import json  # only with --json: not on the start-up path of text output

    return json.dumps(record)


READY_ENV = "PUREBPF_TOOL_READY"


def ready(out: Output) -> None:
    """Probes are attached: flush the header and, when the environment asks
    (tests, benchmarks), say so on stderr.  Signals are caught before the flush:
    a caller may stop the tool as soon as it sees the first line (a banner from
    :meth:`Output.text` is not flushed before this)."""
    Stopper.catch()
    out.flush()
    if os.environ.get(READY_ENV) == "1":
        print("PUREBPF_TOOL_READY", file=sys.stderr, flush=True)


class Clock:
    """The TIME (wall clock HH:MM:SS) and TIME(s) (seconds since start) columns."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    @staticmethod
    def hms() -> str:
        return time.strftime("%H:%M:%S")

    def elapsed(self) -> float:
        return time.monotonic() - self.start


# -- the run loop ---------------------------------------------------------------------------


def _signal_module() -> Any:
    """The interpreter's own ``_signal`` (loaded at start): ``signal`` wraps it
    in enums built at import, ~1.4 ms of a tool's start when nothing else
    imported ``enum``.  Handlers come back unwrapped, which is all a restore needs."""
    try:
        import _signal
    except ImportError:  # an interpreter without it
        import signal as _signal
    return _signal


class Stopper:
    """Turns SIGINT and SIGTERM into a flag the loop checks (instead of an
    exception in the middle of printing), and restores the old handlers.
    One per process, caught from the header on (:meth:`catch`)."""

    _caught: Stopper | None = None

    def __init__(self) -> None:
        self.stopped = False
        self._old: dict[int, Any] = {}

    @classmethod
    def catch(cls) -> Stopper:
        """The process's stopper, its handlers installed on first use."""
        if cls._caught is None:
            signal = _signal_module()
            cls._caught = stopper = cls()
            for sig in (signal.SIGINT, signal.SIGTERM):
                stopper._old[sig] = signal.signal(sig, stopper._stop)
        return cls._caught

    def _stop(self, *_: object) -> None:
        self.stopped = True

    def release(self) -> None:
        signal = _signal_module()
        for sig, old in self._old.items():
            signal.signal(sig, old)
        if Stopper._caught is self:
            Stopper._caught = None


def run_loop(poll: Callable[[int], Any], out: Output, *, duration: float | None = None,
             interval: float | None = None, count: int | None = None,
             on_interval: Callable[[], None] | None = None, poll_ms: int = 100) -> None:
    """Poll until Ctrl-C/SIGTERM, ``duration`` seconds, or ``count`` intervals;
    call ``on_interval`` every ``interval`` seconds and once more at the end
    when it has not just run (summary tools print on exit, as the C tools do)."""
    start = time.monotonic()
    end = start + duration if duration else None
    next_tick = start + interval if interval else None
    done = 0
    count_reached = False
    stopper = Stopper.catch()
    try:
        while not stopper.stopped:
            now = time.monotonic()
            wait = poll_ms / 1000
            if next_tick is not None:
                wait = min(wait, max(next_tick - now, 0))
            if end is not None:
                wait = min(wait, max(end - now, 0))
            poll(int(wait * 1000))
            out.flush()
            now = time.monotonic()
            if next_tick is not None and now >= next_tick and on_interval is not None:
                on_interval()
                out.flush()
                done += 1
                next_tick += interval  # type: ignore[operator]
                if count is not None and done >= count:
                    count_reached = True
                    break
            if end is not None and now >= end:
                break
    finally:
        stopper.release()
    if on_interval is not None and not count_reached:
        on_interval()  # the partial interval, as the C tools print it on Ctrl-C
    out.flush()


def report_lost(reader: Any) -> None:
    """Say on stderr how many events the kernel could not hand over (ring full)."""
    lost = getattr(reader, "lost", None)
    if lost:
        print(f"Lost {lost} events", file=sys.stderr)


def sleep_ms(ms: int) -> None:
    """The poll of a tool with nothing to read between summaries."""
    time.sleep(ms / 1000)
