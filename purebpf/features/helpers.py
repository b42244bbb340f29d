"""May a program type call a helper?  Load ``call <helper>; exit`` and read the verifier.

The verifier names the two "no" answers: ``invalid func unknown#N`` (this
kernel has no helper N) and ``unknown func bpf_x#N`` (it exists but not for
this program type; since Linux 6.13 worded ``program of this type cannot use
helper bpf_x#N``, which older libbpf/bpftool do not recognise).  Any other outcome, success or a complaint about the
arguments, means the call itself is allowed.

Probing every helper for every program type is ~7000 loads, so
:data:`REPRESENTATIVE_TYPES` picks one type per family of helper sets.
"""

from __future__ import annotations

from purebpf.asm import R0, call, exit_, mov
from purebpf.asm.helpers import HELPERS, helper_id
from purebpf.features.progs import probe_spec, try_load
from purebpf.features.reasons import explain
from purebpf.features.report import Feature
from purebpf.sys import ProgType

REPRESENTATIVE_TYPES = (
    ProgType.SOCKET_FILTER, ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT,
    ProgType.PERF_EVENT, ProgType.SCHED_CLS, ProgType.XDP, ProgType.CGROUP_SKB, ProgType.SOCK_OPS,
    ProgType.SK_MSG, ProgType.SYSCALL,
)

_NO_SUCH_HELPER = "invalid func "
_NOT_FOR_TYPE = ("unknown func ", "program of this type cannot use helper")


def helper_names() -> list[str]:
    """``bpf_``-prefixed names of every helper purebpf knows, in id order."""
    return [f"bpf_{name}" for name in HELPERS[1:]]


def probe_helper(prog_type: ProgType, name: str) -> Feature:
    """Whether ``prog_type`` programs may call helper ``name`` on this kernel."""
    full = name if name.startswith("bpf_") else f"bpf_{name}"
    spec = probe_spec(prog_type, [call(helper_id(full)), mov(R0, 0), exit_()])
    err, log = try_load(spec, log_level=1)
    if err and _NO_SUCH_HELPER in log:
        return Feature(full, False, explain("helper", err, "this kernel does not have this helper (too old)"))
    if err and any(text in log for text in _NOT_FOR_TYPE):
        return Feature(full, False, explain(
            "helper", err, f"{prog_type.name.lower()} programs may not call this helper"))
    if err and not log:  # the program type itself did not load: the answer is unknown, so no
        return Feature(full, False, explain("prog", err))
    return Feature(full, True)


def probe_helpers(prog_type: ProgType) -> dict[str, Feature]:
    return {name: probe_helper(prog_type, name) for name in helper_names()}
