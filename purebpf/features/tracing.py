"""What TRACING programs (fentry/fexit, tp_btf, iterators) may do on this kernel, found by loading one.

Their helper sets are not what the generic helper probe (:mod:`purebpf.features.helpers`, one program
type per family) sees: the answer depends on the attach type and even the function (bpf_d_path's
allowlist), and a kernel may refuse the type altogether (lockdown, no trampolines).
"""

from __future__ import annotations

from purebpf._memo import cache
from purebpf.errors import BPFError

# what the verifier says when a helper exists but this attach point may not call it (bpf_d_path's allowlist)
REFUSED_HERE = "helper call is not allowed in probe"


def _load_tracing(kind: str, target: str, helper: str | None) -> BPFError | None:
    """Load a TRACING program of ``kind`` on ``target`` (calling ``helper`` with zeroed arguments, when
    given) and close it: None when the kernel took it, else the error it gave."""
    from purebpf.asm import R0, call, exit_, mov
    from purebpf.links import tracing_spec
    from purebpf.programs import Program

    body = [mov(r, 0) for r in range(1, 6)] + [call(helper)] if helper else []
    try:
        with Program(tracing_spec([*body, mov(R0, 0), exit_()], kind, target, name="probe_tracing")):
            return None
    except BPFError as exc:
        return exc


def tracing_loads(kind: str, target: str, helper: str | None = None) -> bool:
    """Whether this kernel loads a TRACING program of ``kind`` on ``target`` (calling ``helper``, when
    given): the helper sets of these programs are not what the generic helper probe sees, and a kernel
    may refuse the type altogether (fentry here), so load one and see."""
    from purebpf.errors import VerifierError
    from purebpf.programs.rejection import is_kernel_limit

    exc = _load_tracing(kind, target, helper)
    if isinstance(exc, VerifierError):  # a complaint about the zeroed arguments still means the call is allowed
        return bool(helper) and not is_kernel_limit(exc) and REFUSED_HERE not in exc.log
    return exc is None


@cache
def helper_refused(kind: str, target: str, helper: str) -> bool:
    """Whether the verifier refuses ``helper`` in a ``kind`` program on ``target`` although the kernel has
    it (bpf_d_path outside its allowlist of functions).  False when such programs do not load at all
    (fentry on this host): the load of the probe itself then says why."""
    from purebpf.errors import VerifierError

    exc = _load_tracing(kind, target, helper)
    return isinstance(exc, VerifierError) and REFUSED_HERE in exc.log
