"""Ready tools: the libbpf-tools suite on purebpf, as ``purebpf TOOL``.

Each tool is one module with a docstring (its -h description), ``arguments(parser)`` (the
flags, spelled as libbpf-tools spells them, plus ``-j/--json``) and
``run(args) -> int``.  :data:`TOOLS` names them without importing them, so
``purebpf --help`` and ``purebpf execsnoop`` load only what they need.
"""

from __future__ import annotations

# tool name -> one-line help (the module is purebpf.tools.<name>)
TOOLS: dict[str, str] = {
    "execsnoop": "trace exec() syscalls, with arguments",
    "exitsnoop": "trace process exits: exit code or signal, age",
    "killsnoop": "trace signals sent by kill(), tkill() and tgkill()",
    "sigsnoop": "trace signals generated, by any means",
    "opensnoop": "trace open(), openat() and openat2() syscalls",
    "syscount": "count syscalls (or processes), with latency and errno filters",
    "runqlat": "run queue (scheduler) latency as a histogram",
    "profile": "sample stacks on CPU; folded output and SVG flame graphs",
    "biolatency": "block I/O latency as a histogram",
    "tcpstates": "trace TCP state changes",
    "tcplife": "trace TCP sessions with their duration and bytes",
    "tcpconnect": "trace active TCP connections (connect)",
    "tcpaccept": "trace passive TCP connections (accept)",
    "tcpretrans": "trace TCP retransmits",
    "bindsnoop": "trace bind() syscalls",
    "statsnoop": "trace stat() syscalls",
    "runqlen": "run queue length as a histogram, by sampling",
    "cpudist": "on-CPU (or off-CPU) time per task as a histogram",
    "offcputime": "off-CPU time by stack, with folded output",
    "hardirqs": "time spent in hard interrupt handlers",
    "softirqs": "time spent in soft interrupts",
    "biosnoop": "trace block I/O, one line per request",
    "oomkill": "trace OOM killer kills",
    "memleak": "outstanding allocations by stack (user malloc or kernel kmalloc)",
    "filelife": "trace short-lived files: created and deleted, with their age",
    "biotop": "block I/O by process, top-like, at an interval",
}


def available() -> dict[str, str]:
    """The tools whose module exists in this installation."""
    from importlib.util import find_spec

    return {name: help_ for name, help_ in TOOLS.items() if find_spec(f"purebpf.tools.{name}") is not None}
