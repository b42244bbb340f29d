"""Tracepoint links: a TRACEPOINT program on a static kernel tracepoint.

    link = Tracepoint(prog, "syscalls", "sys_enter_getpid")

Needs Linux 4.7 (4.14 for the ``syscalls`` group); the attachment is a bpf_link
on 5.15+.  The program sees the tracepoint's record as laid out in
``<tracefs>/events/<group>/<name>/format``.  It runs on every CPU and for every
task: tracepoints cannot be filtered per process in the kernel, so filter in
the program.  Closing the link detaches.
"""

from __future__ import annotations

from purebpf.links.attach import require_program
from purebpf.links.perf_attach import PerfEventLink
from purebpf.links.validate import require_name
from purebpf.programs import Program
from purebpf.sys import FD, ProgType
from purebpf.sys.fs import tracepoint_id
from purebpf.sys.perf import PerfType, open_event


class Tracepoint(PerfEventLink):
    kind = "tracepoint"

    def __init__(self, prog: Program, group: str, name: str, *, cookie: int = 0) -> None:
        require_program(prog, [ProgType.TRACEPOINT], "a tracepoint")
        require_name(group, "tracepoint group")
        require_name(name, "tracepoint name")
        tp_id = tracepoint_id(group, name)  # NotFoundError naming it when absent
        what = f"tracepoint {group}:{name}"
        # a tracepoint's BPF programs run on all CPUs whatever cpu the event names
        perf_fd = FD(open_event(PerfType.TRACEPOINT, tp_id, pid=-1, cpu=0, sample_period=1, what=what))
        super().__init__(prog, perf_fd, what=what, cookie=cookie)
        self.group, self.name = group, name

    def __repr__(self) -> str:
        return f"<Tracepoint {self.group}:{self.name} {'closed' if self.closed else 'attached'}>"
