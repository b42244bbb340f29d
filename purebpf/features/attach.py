"""Can a program be attached this way?  Each probe asks the kernel a question
whose refusal differs between "I know this attach kind" and "I do not".

* perf PMUs (kprobe, uprobe, tracepoint): the PMU's sysfs directory exists.
* BTF-attached kinds (fentry, fexit, fmod_ret, LSM, tp_btf): load a program
  against a function the kernel keeps for this purpose (``bpf_fentry_test1``,
  ``bpf_modify_return_test``, ``bpf_lsm_file_open``, ``btf_trace_sched_switch``).
* link kinds (tcx, netkit, xdp, cgroup, perf_event, sockmap): ``LINK_CREATE``
  with a deliberately bad target.  A kernel that knows the kind looks the
  target up and answers EBADF/ENODEV/ENXIO; one that does not answers EINVAL
  before looking.  Nothing is ever attached: tcx and netkit are asked for lo
  with a relative link fd that does not exist, XDP for lo in hardware-offload
  mode, which lo cannot do.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import socket
from collections.abc import Callable
from pathlib import Path

from purebpf.asm import R0, exit_, mov
from purebpf.btf.kinds import Kind
from purebpf.errors import BPFError, SyscallError
from purebpf.features.progs import try_load
from purebpf.features.reasons import explain
from purebpf.features.report import Feature
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, Cmd, ProgType, bpf_raw
from purebpf.sys.attrs import LinkCreateAttr, LinkCreateMultiAttr, LinkCreateUprobeMultiAttr, RawTracepointOpenAttr
from purebpf.sys.constants import BPF_F_BEFORE, BPF_F_LINK, XDP_FLAGS_HW_MODE

PMU_ROOT = Path("/sys/bus/event_source/devices")
BAD_FD = 0xFFFFFFFF  # never a valid fd, as the kernel reads it (u32 -> int -1)

_PMU_CONFIG = {"kprobe": "CONFIG_KPROBE_EVENTS", "uprobe": "CONFIG_UPROBE_EVENTS", "tracepoint": "CONFIG_TRACEPOINTS"}


def _pmu(name: str) -> Callable[[], Feature]:
    def probe() -> Feature:
        if (PMU_ROOT / name / "type").exists():
            return Feature(name, True)
        return Feature(name, False, f"no '{name}' perf PMU in {PMU_ROOT}: this kernel was built without "
                                    f"{_PMU_CONFIG[name]}")
    return probe


def _vmlinux_id(name: str, kind: Kind) -> int | None:
    from purebpf.btf.kernel import load_kernel  # costly only the first time, and only for these probes

    try:
        ids = load_kernel().find_ids(name, kind)
    except BPFError:
        return None
    return ids[0] if ids else None


def _btf_attached(kind: str, prog_type: ProgType, attach: AttachType, target: str, btf_kind: Kind,
                  refused: str) -> Callable[[], Feature]:
    def probe() -> Feature:
        btf_id = _vmlinux_id(target, btf_kind)
        if btf_id is None:
            return Feature(kind, False, f"vmlinux BTF (/sys/kernel/btf/vmlinux) is missing or has no {target}: "
                                        "the kernel needs CONFIG_DEBUG_INFO_BTF")
        spec = ProgramSpec(prog_type, [mov(R0, 0), exit_()], name="purebpf_probe", expected_attach_type=attach,
                           attach_btf_id=btf_id)
        err, log = try_load(spec)
        if err == 0:
            return Feature(kind, True)
        detail = refused if err == _errno.EPERM else ""
        return Feature(kind, False, explain("attach", err, detail))
    return probe


def _load(prog_type: ProgType, attach: AttachType | int = 0) -> Program:
    return Program(ProgramSpec(prog_type, [mov(R0, 0), exit_()], name="purebpf_probe",
                               expected_attach_type=attach))


def _link_errno(prog: Program, attach: AttachType, target: int, *, flags: int = 0, relative: int = 0) -> int:
    """LINK_CREATE and close whatever it made; return the errno (0 if it made a link)."""
    attr = LinkCreateAttr(prog_fd=prog.fd, target_fd=target, attach_type=attach, flags=flags, u32_0=relative)
    ret, err = bpf_raw(Cmd.LINK_CREATE, attr)
    if ret >= 0:
        os.close(ret)
    return err


def _link_kind(kind: str, prog_type: ProgType, attach: AttachType, target: Callable[[], int], known: set[int],
               *, flags: int = 0, relative: int = 0, prog_attach: AttachType | int | None = None
               ) -> Callable[[], Feature]:
    def probe() -> Feature:
        try:
            with _load(prog_type, attach if prog_attach is None else prog_attach) as prog:
                err = _link_errno(prog, attach, target(), flags=flags, relative=relative)
        except SyscallError as exc:
            return Feature(kind, False, explain("prog", exc.errno, f"its {prog_type.name.lower()} program "
                                                "does not load here"))
        if err == 0 or err in known:
            return Feature(kind, True)
        return Feature(kind, False, explain("attach", err))
    return probe


def _lo() -> int:
    return socket.if_nametoindex("lo")


def _raw_tracepoint() -> Feature:
    """RAW_TRACEPOINT_OPEN of a tracepoint that does not exist: ENOENT means the command works."""
    try:
        prog = _load(ProgType.RAW_TRACEPOINT)
    except SyscallError as exc:
        return Feature("raw_tracepoint", False, explain("prog", exc.errno))
    with prog:
        name = ctypes.create_string_buffer(b"purebpf_no_such_tracepoint")
        ret, err = bpf_raw(Cmd.RAW_TRACEPOINT_OPEN,
                           RawTracepointOpenAttr(name=ctypes.addressof(name), prog_fd=prog.fd))
    if ret >= 0:
        os.close(ret)
    if ret >= 0 or err == _errno.ENOENT:
        return Feature("raw_tracepoint", True)
    return Feature("raw_tracepoint", False, explain("attach", err))


def _multi_link(kind: str, attach_type: AttachType, attr_for, found_errnos: tuple[int, ...], why: str) -> Feature:
    """Load a KPROBE program for ``attach_type`` and try LINK_CREATE with ``attr_for(prog_fd)`` (which
    keeps the buffers it points to alive on the attr); a link, or an errno of ``found_errnos``, means the
    kernel has the kind.  EOPNOTSUPP/EINVAL get ``why``."""
    try:
        prog = _load(ProgType.KPROBE, attach_type)
    except SyscallError as exc:
        return Feature(kind, False, explain("prog", exc.errno))
    with prog:
        ret, err = bpf_raw(Cmd.LINK_CREATE, attr_for(prog.fd))
    if ret >= 0:
        os.close(ret)
    if ret >= 0 or err in found_errnos:
        return Feature(kind, True)
    return Feature(kind, False, explain("attach", err, why if err in (_errno.EOPNOTSUPP, _errno.EINVAL) else ""))


def _kprobe_multi() -> Feature:
    """Attach for real to ``bpf_fentry_test1`` (kept in the kernel for tests) and detach at once."""
    def attr_for(prog_fd: int) -> LinkCreateMultiAttr:
        sym = ctypes.create_string_buffer(b"bpf_fentry_test1")
        syms = (ctypes.c_uint64 * 1)(ctypes.addressof(sym))
        attr = LinkCreateMultiAttr(prog_fd=prog_fd, attach_type=AttachType.TRACE_KPROBE_MULTI, cnt=1,
                                   syms=ctypes.addressof(syms))
        attr._keep = (sym, syms)
        return attr

    return _multi_link("kprobe_multi", AttachType.TRACE_KPROBE_MULTI, attr_for, (),
                       "this kernel has no fprobe-based multi-kprobes (CONFIG_FPROBE) or does not know the attach type")


def _uprobe_multi() -> Feature:
    """LINK_CREATE on "/" (no regular file): a kernel with uprobe_multi looks the path up and says EBADF
    (nothing is attached); one without it says EINVAL before looking, one without uprobes EOPNOTSUPP."""
    def attr_for(prog_fd: int) -> LinkCreateUprobeMultiAttr:
        path = ctypes.create_string_buffer(b"/")
        offsets = (ctypes.c_uint64 * 1)(0)
        attr = LinkCreateUprobeMultiAttr(prog_fd=prog_fd, attach_type=AttachType.TRACE_UPROBE_MULTI, cnt=1,
                                         path=ctypes.addressof(path), offsets=ctypes.addressof(offsets))
        attr._keep = (path, offsets)
        return attr

    return _multi_link("uprobe_multi", AttachType.TRACE_UPROBE_MULTI, attr_for, (_errno.EBADF,),
                       "uprobe_multi links need Linux 6.6+ with CONFIG_UPROBES")


_FENTRY_REFUSED = "fentry/fexit programs are refused on this kernel (lockdown or missing CONFIG?)"

PROBES: dict[str, Callable[[], Feature]] = {
    "kprobe": _pmu("kprobe"),
    "uprobe": _pmu("uprobe"),
    "tracepoint": _pmu("tracepoint"),
    "raw_tracepoint": _raw_tracepoint,
    "tp_btf": _btf_attached("tp_btf", ProgType.TRACING, AttachType.TRACE_RAW_TP, "btf_trace_sched_switch",
                            Kind.TYPEDEF, "BTF-enabled tracepoints are refused on this kernel"),
    "fentry": _btf_attached("fentry", ProgType.TRACING, AttachType.TRACE_FENTRY, "bpf_fentry_test1", Kind.FUNC,
                            _FENTRY_REFUSED),
    "fexit": _btf_attached("fexit", ProgType.TRACING, AttachType.TRACE_FEXIT, "bpf_fentry_test1", Kind.FUNC,
                           _FENTRY_REFUSED),
    "fmod_ret": _btf_attached("fmod_ret", ProgType.TRACING, AttachType.MODIFY_RETURN, "bpf_modify_return_test",
                              Kind.FUNC, "fmod_ret programs are refused on this kernel (lockdown, or no "
                              "CONFIG_FUNCTION_ERROR_INJECTION?)"),
    "lsm": _btf_attached("lsm", ProgType.LSM, AttachType.LSM_MAC, "bpf_lsm_file_open", Kind.FUNC,
                         "BPF LSM programs are refused on this kernel (CONFIG_BPF_LSM off, or 'bpf' "
                         "missing from the lsm= boot parameter?)"),
    "kprobe_multi": _kprobe_multi,
    "uprobe_multi": _uprobe_multi,
    "perf_event_link": _link_kind("perf_event_link", ProgType.TRACEPOINT, AttachType.PERF_EVENT,
                                  lambda: BAD_FD, {_errno.EBADF}, prog_attach=0),
    # XDP_FLAGS_HW_MODE on lo: a kernel with XDP links reaches the driver, which cannot offload (EOPNOTSUPP)
    "xdp_link": _link_kind("xdp_link", ProgType.XDP, AttachType.XDP, _lo, {_errno.EOPNOTSUPP},
                           flags=XDP_FLAGS_HW_MODE, prog_attach=0),
    "cgroup_link": _link_kind("cgroup_link", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS,
                              lambda: BAD_FD, {_errno.EBADF}),
    "sockmap_link": _link_kind("sockmap_link", ProgType.SK_SKB, AttachType.SK_SKB_VERDICT, lambda: BAD_FD,
                               {_errno.EBADF}),
    "tcx": _link_kind("tcx", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, _lo, {_errno.EBADF},
                      flags=BPF_F_BEFORE | BPF_F_LINK, relative=BAD_FD, prog_attach=0),
    # lo is no netkit device: a kernel with netkit says ENXIO (or ENODEV), one without says EINVAL
    "netkit": _link_kind("netkit", ProgType.SCHED_CLS, AttachType.NETKIT_PRIMARY, _lo,
                         {_errno.ENXIO, _errno.ENODEV, _errno.EBADF}, flags=BPF_F_BEFORE | BPF_F_LINK,
                         relative=BAD_FD, prog_attach=0),
}


def probe_attach_kind(kind: str) -> Feature:
    return PROBES[kind]()


def probe_attach_kinds() -> dict[str, Feature]:
    return {kind: probe() for kind, probe in PROBES.items()}
