"""System calls: completions, failures by errno, and latency, by process name
and system call (``raw_syscalls:sys_enter`` / ``sys_exit``)."""

from __future__ import annotations

import errno

from purebpf.agent.filters import guard
from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import BpftraceProbe
from purebpf.sys.syscalls import syscall_name as _known_syscall


def errno_name(code: int) -> str:
    return errno.errorcode.get(code, str(code))


class SyscallsProbe(BpftraceProbe):
    name = "syscalls"
    help = "system calls: count, errors by errno, latency histogram, by process name and syscall"
    params = {"latency": True}
    metrics = {
        "purebpf_syscalls": "System calls completed, by process name and system call.",
        "purebpf_syscall_errors": "System calls that returned an error, by process name, system call and errno.",
        "purebpf_syscall_latency_seconds": "Time from system call entry to exit, by process name and system call.",
    }

    def source(self) -> str:
        # a thread that exits inside exit()/exit_group() never reaches sys_exit: forget its start
        record = ("@lat[comm, args->id] = hist($d); @lat_ns[comm, args->id] = sum($d);"
                  if self.p["latency"] else "@calls[comm, args->id] = count();")
        return f"""
tracepoint:raw_syscalls:sys_enter {guard(self.filters)} {{ @start[tid] = nsecs; }}
tracepoint:raw_syscalls:sys_exit /@start[tid]/ {{
  $d = nsecs - @start[tid];
  delete(@start[tid]);
  {record}
  if (args->ret < 0) {{ @err[comm, args->id, -args->ret] = count(); }}
}}
tracepoint:sched:sched_process_exit {{ delete(@start[tid]); }}
"""

    def families(self) -> list[Family]:
        by_call = ("comm", "syscall")
        out = []
        if self.p["latency"]:
            lat = self.histogram_family("purebpf_syscall_latency_seconds", by_call, "@lat", "@lat_ns",
                                        lambda k: (k[0], syscall_name(k[1])))
            calls = self.family("purebpf_syscalls", "counter", by_call)
            for key, hist in lat.samples.items():
                calls.add(key, hist.count)  # type: ignore[union-attr]
            out += [calls, lat]
        else:
            out.append(self.counter_family("purebpf_syscalls", by_call, "@calls",
                                           lambda k: (k[0], syscall_name(k[1]))))
        out.append(self.counter_family("purebpf_syscall_errors", by_call + ("errno",), "@err",
                                       lambda k: (k[0], syscall_name(k[1]), errno_name(k[2]))))
        return out


def syscall_name(nr: int) -> str:
    """A label for syscall ``nr``: its name, ``sys_<nr>`` when unknown, ``none`` for the
    negative number of a call the kernel refused before dispatch (seccomp, ptrace)."""
    if nr < 0:
        return "none"
    return _known_syscall(nr) or f"sys_{nr}"
