"""Run-time statistics: counted only while BPF_ENABLE_STATS is held."""

from __future__ import annotations

from pathlib import Path

from purebpf.asm import R0, exit_, mov
from purebpf.programs import Program, ProgType, enable_stats, stats

SYSCTL = Path("/proc/sys/kernel/bpf_stats_enabled")


def test_runs_are_counted_only_while_stats_are_on(no_fd_leak):
    with Program(ProgType.XDP, [mov(R0, 2), exit_()]) as prog:
        if SYSCTL.read_text().strip() == "0":
            prog.test_run(bytes(64), repeat=10)
            assert prog.info().run_cnt == 0
        with stats():
            prog.test_run(bytes(64), repeat=50)
            info = prog.info()
            assert info.run_cnt >= 50
            assert info.run_time_ns > 0
        counted = prog.info().run_cnt
        if SYSCTL.read_text().strip() == "0":
            prog.test_run(bytes(64), repeat=10)
            assert prog.info().run_cnt == counted


def test_enable_stats_returns_a_closable_handle(no_fd_leak):
    handle = enable_stats()
    assert handle.fd >= 0 and not handle.closed
    handle.close()
    handle.close()
    assert handle.closed
