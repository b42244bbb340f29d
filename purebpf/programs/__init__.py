"""Loaded BPF programs."""

from purebpf.programs.program import Program, ProgramSpec
from purebpf.sys.constants import ProgType

__all__ = ["ProgType", "Program", "ProgramSpec"]
