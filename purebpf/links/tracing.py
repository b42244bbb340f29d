"""fentry / fexit / fmod_ret links: a TRACING program on a kernel function's
entry or exit through a BPF trampoline (no kprobe, arguments typed by BTF).

    prog = Program(tracing_spec(insns, "fentry", "do_unlinkat"))
    link = Tracing(prog)

Needs Linux 5.5 on x86_64 (5.7 for fmod_ret), kernel BTF and
CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS.  The program's ctx is an array of
u64 arguments; for fexit the return value follows the arguments.  The target
is fixed at load time (:func:`purebpf.links.tracing_spec`).  Closing the link
detaches.
"""

from __future__ import annotations

from purebpf.links.btf_attach import BtfLink
from purebpf.sys import AttachType, ProgType


class Tracing(BtfLink):
    kind = "fentry/fexit"
    prog_types = (ProgType.TRACING,)
    attach_types = (AttachType.TRACE_FENTRY, AttachType.TRACE_FEXIT, AttachType.MODIFY_RETURN)
