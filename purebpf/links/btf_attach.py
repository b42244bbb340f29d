"""The attachment shared by BTF-typed programs (tp_btf, fentry/fexit/fmod_ret,
LSM): their target was fixed at load time through ``attach_btf_id``, so
attaching names nothing but the program.

RAW_TRACEPOINT_OPEN without a name works from 5.5 (LSM 5.7) and returns a
bpf_link; a cookie needs LINK_CREATE (5.19 for fentry/fexit/LSM).
"""

from __future__ import annotations

from purebpf.links.attach import link_create, require_program
from purebpf.links.link import Link
from purebpf.links.raw_tracepoint import raw_tracepoint_open
from purebpf.links.validate import require_attach_type
from purebpf.programs import Program
from purebpf.sys import AttachType, ProgType


class BtfLink(Link):
    """Base of the BTF-typed attach kinds; subclasses name the program and
    attach types they accept."""

    prog_types: tuple[ProgType, ...] = ()
    attach_types: tuple[AttachType, ...] = ()

    def __init__(self, prog: Program, *, cookie: int = 0) -> None:
        require_program(prog, self.prog_types, f"a {self.kind} link")
        require_attach_type(prog, self.kind, self.attach_types)
        what = f"{self.kind} program '{prog.name}'"
        if cookie and prog.spec.expected_attach_type != AttachType.TRACE_RAW_TP:
            # cookie: u64 at +24 of the tracing union (after target_btf_id)
            fd = link_create(prog, 0, prog.spec.expected_attach_type, what, u64_1=cookie)
        else:
            fd = raw_tracepoint_open(prog, None, what, cookie=cookie)
        super().__init__(fd)
        self.attach_btf_id = prog.spec.attach_btf_id

    def __repr__(self) -> str:
        state = "closed" if self.closed else "attached"
        return f"<{type(self).__name__} btf_id={self.attach_btf_id} {state}>"
