"""Turn on the kernel's per-program run-time statistics (``run_cnt``,
``run_time_ns`` in :class:`~purebpf.programs.ProgramInfo`).

    with enable_stats():
        ...                      # programs count runs and time while this is open
    print(prog.info().run_cnt)

``BPF_ENABLE_STATS`` (Linux 5.8+) returns an fd: statistics stay on while any
such fd is open and go off when the last one closes, so a crashed process
never leaves them on.  The older, global alternative is the sysctl
``kernel.bpf_stats_enabled=1``, which stays on until someone resets it.
Counting costs a little per run (two clock reads), which is why it is off by default.
"""

from __future__ import annotations

import errno as _errno

from purebpf.errors import NotSupportedError, syscall_error
from purebpf.sys import FD, Cmd, bpf_raw
from purebpf.sys.attrs import EnableStatsAttr
from purebpf.sys.constants import StatsType


class StatsEnabled:
    """Holds statistics on; :meth:`close` (or leaving the ``with``) releases them."""

    def __init__(self, kind: StatsType = StatsType.RUN_TIME) -> None:
        ret, err = bpf_raw(Cmd.ENABLE_STATS, EnableStatsAttr(type=kind))
        if ret < 0:
            if err == _errno.EINVAL:
                raise NotSupportedError(
                    "BPF_ENABLE_STATS is not supported by this kernel (needs Linux 5.8+); "
                    "use the sysctl instead: `sysctl kernel.bpf_stats_enabled=1`")
            raise syscall_error("BPF_ENABLE_STATS", err, "run-time statistics")
        self._fd = FD(ret)

    @property
    def fd(self) -> int:
        return self._fd.raw

    def close(self) -> None:
        self._fd.close()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def __enter__(self) -> StatsEnabled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def enable_stats(kind: StatsType = StatsType.RUN_TIME) -> StatsEnabled:
    """Turn run-time statistics on until the returned object is closed."""
    return StatsEnabled(kind)


stats = enable_stats  # `with stats(): ...` reads well at call sites
