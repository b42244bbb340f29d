"""Loaded BPF programs: load, test-run, inspect, pin, and run-time statistics."""

from purebpf.programs.info import ProgramInfo
from purebpf.programs.program import Program, ProgramSpec
from purebpf.programs.stats import StatsEnabled, enable_stats, stats
from purebpf.programs.testrun import TestRunResult
from purebpf.sys.constants import ProgType

__all__ = [
    "ProgType", "Program", "ProgramInfo", "ProgramSpec", "StatsEnabled", "TestRunResult", "enable_stats", "stats",
]
