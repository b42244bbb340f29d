"""Is a program type available?  Load the smallest program of that type.

Most types accept ``r0 = 0; exit``.  A few cannot load without a real target,
so the probe asks for an impossible one and recognises the refusal that only
a kernel knowing the type gives (as libbpf does): a tracing program attached
to BTF id 1 (which is never a typedef) must fail with "is not a typedef",
freplace with "Cannot replace kernel functions", struct_ops with ENOTSUPP.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

from purebpf.asm import R0, exit_, mov
from purebpf.errors import SyscallError, VerifierError
from purebpf.features.reasons import ENOTSUPP, explain
from purebpf.features.report import Feature
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, ProgFlags, ProgType

EINVAL = 22
EPERM = 1
# types whose programs run through BPF trampolines (or the LSM hooks) rather than a plain call
TRAMPOLINE_TYPES = frozenset({ProgType.TRACING, ProgType.EXT, ProgType.LSM})


@dataclass(frozen=True)
class ProgSetup:
    """Spec fields one type needs to load, and the refusal that means "available"."""
    fields: dict = field(default_factory=dict)
    expect_errno: int = 0
    expect_log: str = ""


def _kernel_version_code() -> int:
    """``LINUX_VERSION_CODE`` of the running kernel: kprobe programs needed it before 5.0."""
    parts = (platform.release().split("-")[0].split(".") + ["0", "0"])[:3]
    major, minor, patch = (int("".join(c for c in p if c.isdigit()) or 0) for p in parts)
    return (major << 16) | (minor << 8) | min(patch, 255)


SETUPS: dict[ProgType, ProgSetup] = {
    ProgType.KPROBE: ProgSetup({"kern_version": _kernel_version_code()}),
    ProgType.CGROUP_SOCK_ADDR: ProgSetup({"expected_attach_type": AttachType.CGROUP_INET4_CONNECT}),
    ProgType.CGROUP_SOCKOPT: ProgSetup({"expected_attach_type": AttachType.CGROUP_GETSOCKOPT}),
    ProgType.SK_LOOKUP: ProgSetup({"expected_attach_type": AttachType.SK_LOOKUP}),
    ProgType.LIRC_MODE2: ProgSetup({"expected_attach_type": AttachType.LIRC_MODE2}),
    ProgType.NETFILTER: ProgSetup({"expected_attach_type": AttachType.NETFILTER}),
    ProgType.SYSCALL: ProgSetup({"flags": ProgFlags.SLEEPABLE}),
    ProgType.TRACING: ProgSetup({"expected_attach_type": AttachType.TRACE_RAW_TP, "attach_btf_id": 1},
                                EINVAL, "is not a typedef"),
    ProgType.LSM: ProgSetup({"expected_attach_type": AttachType.LSM_MAC, "attach_btf_id": 1},
                            EINVAL, "is not a function"),
    ProgType.EXT: ProgSetup({"attach_btf_id": 1}, EINVAL, "Cannot replace kernel functions"),
    ProgType.STRUCT_OPS: ProgSetup({}, ENOTSUPP),
}


def probe_spec(prog_type: ProgType, insns: list | None = None) -> ProgramSpec:
    """The spec a probe of ``prog_type`` loads (helper probes reuse it with other instructions)."""
    setup = SETUPS.get(prog_type, ProgSetup())
    return ProgramSpec(prog_type, insns or [mov(R0, 0), exit_()], name="purebpf_probe", **setup.fields)


def try_load(spec: ProgramSpec, log_level: int = 0) -> tuple[int, str]:
    """Load ``spec`` and close it at once; return ``(errno, verifier log)``, errno 0 on success."""
    try:
        Program(spec, log_level=log_level).close()
    except VerifierError as exc:
        return exc.errno, exc.log
    except SyscallError as exc:
        return exc.errno, ""
    return 0, ""


def probe_prog_type(prog_type: ProgType) -> Feature:
    setup = SETUPS.get(prog_type, ProgSetup())
    name = prog_type.name.lower()
    err, log = try_load(probe_spec(prog_type), log_level=1 if setup.expect_log else 0)
    expected = bool(setup.expect_errno) and err == setup.expect_errno
    if err == 0 or (expected and setup.expect_log in log):
        return Feature(name, True)
    if expected and log.strip():  # the right errno for another reason: quote the verifier
        return Feature(name, False, explain("prog", err, log.strip().splitlines()[0]))
    return Feature(name, False, _refusal(prog_type, err))


def _refusal(prog_type: ProgType, err: int) -> str:
    if err == EPERM and prog_type in TRAMPOLINE_TYPES:
        return explain("prog", err, f"{prog_type.name.lower()} programs are refused on this kernel "
                                    "(lockdown, or built without BPF trampolines / BPF LSM?)")
    return explain("prog", err)


def probe_prog_types() -> dict[str, Feature]:
    return {t.name.lower(): probe_prog_type(t) for t in ProgType if t != ProgType.UNSPEC}
