"""Probe families, by the name used in the configuration and on ``/probes``."""

from __future__ import annotations

from purebpf.agent.probes.base import BpftraceProbe, MapUsage, Probe, ProbeContext
from purebpf.agent.probes.block import BlockProbe
from purebpf.agent.probes.memory import MemoryProbe
from purebpf.agent.probes.process import ProcessProbe
from purebpf.agent.probes.profile import ProfileProbe
from purebpf.agent.probes.sched import SchedProbe
from purebpf.agent.probes.syscalls import SyscallsProbe
from purebpf.agent.probes.tcp import TcpProbe

PROBES: dict[str, type[Probe]] = {cls.name: cls for cls in (
    SyscallsProbe, ProcessProbe, SchedProbe, BlockProbe, TcpProbe, MemoryProbe, ProfileProbe)}

__all__ = ["PROBES", "BpftraceProbe", "MapUsage", "Probe", "ProbeContext"]
