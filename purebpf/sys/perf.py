"""perf_event_open(2) constants and the few perf fd operations BPF needs.

Tracepoint, kprobe, uprobe and sampling links are all perf events with a BPF
program set on them; this module opens those events and nothing else.
"""

from __future__ import annotations

import ctypes
import fcntl

from purebpf._intconst import IntConst
from purebpf.errors import NotSupportedError
from purebpf.sys.attrs import PerfEventAttr
from purebpf.sys.syscall import perf_event_open


class PerfType(IntConst):
    HARDWARE = 0
    SOFTWARE = 1
    TRACEPOINT = 2
    HW_CACHE = 3
    RAW = 4
    BREAKPOINT = 5


class SoftwareEvent(IntConst):
    CPU_CLOCK = 0
    TASK_CLOCK = 1
    PAGE_FAULTS = 2
    CONTEXT_SWITCHES = 3
    CPU_MIGRATIONS = 4
    PAGE_FAULTS_MIN = 5
    PAGE_FAULTS_MAJ = 6
    ALIGNMENT_FAULTS = 7
    EMULATION_FAULTS = 8
    DUMMY = 9
    BPF_OUTPUT = 10


class HardwareEvent(IntConst):
    CPU_CYCLES = 0
    INSTRUCTIONS = 1
    CACHE_REFERENCES = 2
    CACHE_MISSES = 3
    BRANCH_INSTRUCTIONS = 4
    BRANCH_MISSES = 5
    BUS_CYCLES = 6
    STALLED_CYCLES_FRONTEND = 7
    STALLED_CYCLES_BACKEND = 8
    REF_CPU_CYCLES = 9


# bits of PerfEventAttr.flags
FLAG_DISABLED = 1 << 0
FLAG_INHERIT = 1 << 1
FLAG_EXCLUDE_USER = 1 << 4
FLAG_EXCLUDE_KERNEL = 1 << 5
FLAG_FREQ = 1 << 10
FLAG_WATERMARK = 1 << 14

PERF_SAMPLE_RAW = 1 << 10
PERF_COUNT_SW_BPF_OUTPUT = SoftwareEvent.BPF_OUTPUT

PERF_FLAG_FD_CLOEXEC = 1 << 3

# ioctls on a perf event fd
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408

# perf ring buffer record types
PERF_RECORD_LOST = 2
PERF_RECORD_SAMPLE = 9


def open_event(type_: int, config: int, *, pid: int = -1, cpu: int = 0, sample_period: int = 0,
               sample_freq: int = 0, sample_type: int = 0, wakeup_events: int = 1,
               config1: int = 0, config2: int = 0, flags: int = 0, bp_type: int = 0, what: str = "") -> int:
    """Open one perf event and return its fd (close-on-exec).

    ``sample_freq`` sets the frequency bit; ``flags`` adds PerfEventAttr flag bits;
    ``bp_type`` is a breakpoint's access kind (its address and length go in config1/config2).
    """
    attr = PerfEventAttr()
    attr.type = type_
    attr.size = ctypes.sizeof(PerfEventAttr)
    attr.config = config
    attr.config1 = config1
    attr.config2 = config2
    attr.bp_type = bp_type
    attr.sample_type = sample_type
    attr.wakeup_events = wakeup_events
    if sample_freq:
        attr.sample_period = sample_freq
        flags |= FLAG_FREQ
    else:
        attr.sample_period = sample_period
    attr.flags = flags
    return perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC, what)


def set_bpf(perf_fd: int, prog_fd: int) -> None:
    """Attach a program to a perf event the legacy way (pre-5.15 kernels)."""
    fcntl.ioctl(perf_fd, PERF_EVENT_IOC_SET_BPF, prog_fd)


def enable(perf_fd: int) -> None:
    fcntl.ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0)


def disable(perf_fd: int) -> None:
    fcntl.ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0)


def pmu_type(name: str) -> int:
    """The dynamic PMU type number of ``kprobe`` or ``uprobe`` (from sysfs)."""
    path = f"/sys/bus/event_source/devices/{name}/type"
    try:
        with open(path, "rb") as f:
            return int(f.read())
    except OSError:
        raise NotSupportedError(
            f"this kernel has no '{name}' perf PMU ({path} is missing); "
            f"it was built without CONFIG_{name.upper()}_EVENTS") from None


def pmu_retprobe_bit(name: str) -> int:
    """Bit in ``config`` that turns a k/uprobe PMU event into a return probe."""
    path = f"/sys/bus/event_source/devices/{name}/format/retprobe"
    try:
        with open(path) as f:
            text = f.read().strip()  # e.g. "config:0"
        return 1 << int(text.split(":", 1)[1])
    except (OSError, ValueError, IndexError):
        return 1
