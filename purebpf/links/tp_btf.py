"""BTF tracepoint links (``tp_btf``): a TRACING program on a raw tracepoint whose
arguments the verifier knows by type, so the program may dereference them
directly (``args[0]->di``) instead of through bpf_probe_read.

    prog = Program(tracing_spec(insns, "tp_btf", "sys_enter"))
    link = TpBtf(prog)

Needs Linux 5.5 and kernel BTF.  The program must be loaded with
expected_attach_type TRACE_RAW_TP and attach_btf_id of ``btf_trace_<name>``;
:func:`purebpf.links.tracing_spec` builds that spec.  Closing the link detaches.
"""

from __future__ import annotations

from purebpf.links.btf_attach import BtfLink
from purebpf.sys import AttachType, ProgType


class TpBtf(BtfLink):
    kind = "tp_btf"
    prog_types = (ProgType.TRACING,)
    attach_types = (AttachType.TRACE_RAW_TP,)
