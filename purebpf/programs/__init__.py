"""Loaded BPF programs: load, test-run, inspect, pin, and run-time statistics."""

from purebpf.programs.program import Program, ProgramSpec
from purebpf.programs.stats import StatsEnabled, enable_stats, stats  # light; the function must shadow its module
from purebpf.sys.constants import ProgType

# Program introspection and test runs are imported on first use: loading and
# attaching a program (every ready tool) needs neither.
_LAZY = {"ProgramInfo": "purebpf.programs.info", "TestRunResult": "purebpf.programs.testrun"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'purebpf.programs' has no attribute {name!r}")
    from purebpf._lazy import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ProgType", "Program", "ProgramInfo", "ProgramSpec", "StatsEnabled", "TestRunResult", "enable_stats", "stats",
]
