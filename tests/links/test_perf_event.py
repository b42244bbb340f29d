"""Perf event sampling links: cpu-clock at 99 Hz on every online CPU."""

from __future__ import annotations

import os
import time

import pytest
from tracing_helpers import array_map, counter, noop

from purebpf.errors import InvalidInputError, NotSupportedError
from purebpf.links import PerfEvent
from purebpf.programs import Program
from purebpf.sys import ProgType
from purebpf.sys.cpus import online_cpus
from purebpf.sys.perf import HardwareEvent, PerfType, SoftwareEvent


def busy(seconds: float) -> None:
    """Spin until this process has used ``seconds`` of CPU (not wall) time, so a
    loaded machine cannot starve the samplers of the work they count."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def sampler(counts) -> Program:
    return Program(ProgType.PERF_EVENT, counter(counts, None), name="sample")  # every sample counts


def test_samples_at_99_hz_on_all_cpus_during_a_busy_loop():
    with array_map() as counts, sampler(counts) as prog:
        with PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=99) as link:
            assert len(link.links) == len(online_cpus())
            assert link.is_bpf_link and all(lk.info().prog_id for lk in link.links)
            busy(0.5)
        seen = counts[0]
        # 0.5 s at 99 Hz is ~50 samples per CPU (cpu-clock ticks on idle CPUs too)
        assert 25 <= seen <= 2 * 99 * len(online_cpus())
        busy(0.1)
        assert counts[0] == seen  # detached


def test_samples_one_process_by_pid():
    with array_map() as counts, Program(ProgType.PERF_EVENT, counter(counts, os.getpid()), name="pid") as prog:
        with PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.TASK_CLOCK, sample_period=1_000_000,
                       pid=os.getpid()) as link:
            assert len(link.links) == 1 and link.fd == link.links[0].fd
            cpu_before = time.process_time()
            busy(0.2)
            cpu_ms = (time.process_time() - cpu_before) * 1000
        # at most one sample per 1 ms of this process's CPU time (other load, or an emulated
        # guest's coarse timers, may give fewer)
        assert 10 <= counts[0] <= cpu_ms + 10


def test_hardware_events_are_clearly_unsupported_or_work(no_fd_leak):
    with array_map() as counts, sampler(counts) as prog:
        try:
            link = PerfEvent(prog, PerfType.HARDWARE, HardwareEvent.CPU_CYCLES, sample_period=1_000_000)
        except NotSupportedError as exc:
            assert "cpu-cycles is not available" in str(exc) and "cpu-clock" in str(exc)
        else:
            link.close()


def test_bad_sampling_input(no_fd_leak):
    with array_map() as counts, sampler(counts) as prog:
        with pytest.raises(InvalidInputError, match="not both"):
            PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=99, sample_period=10)
        with pytest.raises(InvalidInputError, match="not online"):
            PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, cpus=[4096])
    with array_map() as counts, Program(ProgType.KPROBE, noop(), name="kp") as wrong:
        with pytest.raises(InvalidInputError, match="PERF_EVENT"):
            PerfEvent(wrong, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK)
