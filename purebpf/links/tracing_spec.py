"""Program specs for the BTF-typed attach kinds, whose target is chosen at load
time: the kernel needs ``expected_attach_type`` and the BTF id of the target in
vmlinux before it will verify the program.

    prog = Program(tracing_spec(insns, "fentry", "do_unlinkat"))
    link = Tracing(prog)

Needs kernel BTF (``/sys/kernel/btf/vmlinux``, 5.5+).  Targets in kernel
modules are not looked up here yet (vmlinux only).
"""

from __future__ import annotations

from purebpf._record import Record
from purebpf.asm import Instruction
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links.validate import require_name
from purebpf.programs import ProgramSpec
from purebpf.sys import AttachType, ProgType

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Sequence

    from purebpf.btf.spec import BTF


class BtfTarget(Record):
    """How one kind names its target in vmlinux BTF: ``btf_kind`` is "func" or
    "typedef", ``prefix`` what precedes the target's name (tp_btf:
    btf_trace_<tp>, lsm: bpf_lsm_<hook>), ``listing`` where a user finds valid
    names.  A :class:`~purebpf._record.Record`: this module is imported with
    every link, and a dataclass would import ``dataclasses`` (~5 ms) for every
    tool, a named tuple ``collections`` (~1 ms)."""

    __slots__ = _fields = ("prog_type", "attach_type", "btf_kind", "prefix", "listing")

    def __init__(self, prog_type: int, attach_type: int, btf_kind: str, prefix: str = "", listing: str = "") -> None:
        self.prog_type = prog_type
        self.attach_type = attach_type
        self.btf_kind = btf_kind
        self.prefix = prefix
        self.listing = listing


_FUNCS = "see /sys/kernel/tracing/available_filter_functions"
TARGETS = {
    "fentry": BtfTarget(ProgType.TRACING, AttachType.TRACE_FENTRY, "func", listing=_FUNCS),
    "fexit": BtfTarget(ProgType.TRACING, AttachType.TRACE_FEXIT, "func", listing=_FUNCS),
    "fmod_ret": BtfTarget(ProgType.TRACING, AttachType.MODIFY_RETURN, "func", listing=_FUNCS),
    "tp_btf": BtfTarget(ProgType.TRACING, AttachType.TRACE_RAW_TP, "typedef", "btf_trace_",
                        "see `purebpf trace -l 'rawtracepoint:*'`"),
    "lsm": BtfTarget(ProgType.LSM, AttachType.LSM_MAC, "func", "bpf_lsm_",
                     "LSM hooks are the bpf_lsm_* functions in vmlinux BTF"),
    "iter": BtfTarget(ProgType.TRACING, AttachType.TRACE_ITER, "func", "bpf_iter_",
                      "see `purebpf trace -l 'iter:*'`"),
}


def tracing_spec(insns: Sequence[Instruction] | bytes, kind: str, target: str, *, name: str = "",
                 license: str = "GPL", btf: BTF | None = None) -> ProgramSpec:
    """A :class:`ProgramSpec` for a ``kind`` program ("fentry", "fexit",
    "fmod_ret", "tp_btf", "lsm", "iter") on ``target`` (function, tracepoint,
    LSM hook or iterator name without prefix).  ``btf`` defaults to the running kernel's."""
    spec = TARGETS.get(kind)
    if spec is None:
        raise InvalidInputError(f"unknown BTF attach kind {kind!r}; expected one of {', '.join(TARGETS)}")
    require_name(target, f"{kind} target")
    btf_id = btf_target_id(kind, target, btf)
    return ProgramSpec(spec.prog_type, insns, license=license, name=name or target,
                       expected_attach_type=spec.attach_type, attach_btf_id=btf_id)


def btf_target_id(kind: str, target: str, btf: BTF | None = None) -> int:
    """The vmlinux BTF id a ``kind`` program on ``target`` attaches to."""
    spec = TARGETS[kind]
    if btf is None:
        from purebpf.btf.kernel import load_kernel  # lazy: kernel BTF is only needed here
        btf = load_kernel()
    wanted = spec.prefix + target
    ids = btf.find_ids(wanted, spec.btf_kind)
    if not ids:
        raise NotFoundError(f"{kind} target '{target}' not found: vmlinux BTF has no {spec.btf_kind} "
                            f"'{wanted}' ({spec.listing})")
    return ids[0]
