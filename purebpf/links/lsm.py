"""LSM links: an LSM program on a security hook (``bpf_lsm_<hook>``); a
non-zero (negative errno) return denies the operation.

    prog = Program(tracing_spec(insns, "lsm", "file_open"))
    link = Lsm(prog)

Needs Linux 5.7 built with CONFIG_BPF_LSM and ``bpf`` in the active LSMs
(``lsm=`` boot parameter; see /sys/kernel/security/lsm).  The program's ctx
is the hook's arguments as u64s.  Closing the link removes the policy.
"""

from __future__ import annotations

from purebpf.errors import NotSupportedError
from purebpf.links.btf_attach import BtfLink
from purebpf.programs import Program
from purebpf.sys import AttachType, ProgType
from purebpf.sys.fs import security_file


class Lsm(BtfLink):
    kind = "LSM"
    prog_types = (ProgType.LSM,)
    attach_types = (AttachType.LSM_MAC,)

    def __init__(self, prog: Program, *, cookie: int = 0) -> None:
        # the kernel accepts the link even when the bpf LSM is inactive; it would never run
        active = _active_lsms()
        if active is not None and "bpf" not in active:
            raise NotSupportedError(
                f"the BPF LSM is not active on this kernel (active: {','.join(active)}); "
                "boot with lsm=...,bpf to use LSM programs")
        super().__init__(prog, cookie=cookie)


def _active_lsms() -> list[str] | None:
    """The active LSMs, or None when securityfs is not there to tell."""
    text = security_file("lsm")
    return text.split(",") if text is not None else None
