"""SEC() names: what program type, expected attach type and attach target a section means.

The table follows libbpf's ``section_defs`` so an object written for libbpf
loads the same here.  A definition ending in ``+`` matches the bare name or the
name followed by ``/extras`` (``tp/syscalls/sys_enter_getpid``); one ending in
``/`` needs the extras; any other matches exactly.  The first match wins, so
longer names come before their prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from purebpf.errors import InvalidInputError
from purebpf.sys.constants import AttachType as A
from purebpf.sys.constants import ProgFlags
from purebpf.sys.constants import ProgType as P

# attach types newer than purebpf.sys.constants.AttachType (values from enum bpf_attach_type)
CGROUP_UNIX_CONNECT = 49
CGROUP_UNIX_SENDMSG = 50
CGROUP_UNIX_RECVMSG = 51
CGROUP_UNIX_GETPEERNAME = 52
CGROUP_UNIX_GETSOCKNAME = 53
NETKIT_PRIMARY = 54
NETKIT_PEER = 55


@dataclass(frozen=True, slots=True)
class SectionDef:
    """One row of the table.  ``auto_attach`` names how :meth:`BPFObject.attach`
    attaches such a program from its section name alone (None: it needs a target
    the name does not give, e.g. an interface for XDP)."""
    pattern: str
    prog_type: P
    attach_type: int = 0
    sleepable: bool = False
    xdp_frags: bool = False
    attach_btf: bool = False     # the extras name a kernel BTF function/hook the load needs
    auto_attach: str | None = None

    def matches(self, name: str) -> bool:
        pat = self.pattern
        if pat.endswith("/"):
            return name.startswith(pat)
        if pat.endswith("+"):
            stem = pat[:-1]
            return name == stem or name.startswith(stem + "/")
        return name == pat

    @property
    def prefix(self) -> str:
        return self.pattern.rstrip("+")


def _d(pattern, prog_type, attach_type=0, **kw) -> SectionDef:
    return SectionDef(pattern, prog_type, int(attach_type), **kw)


SECTION_DEFS: tuple[SectionDef, ...] = (
    _d("socket", P.SOCKET_FILTER),
    _d("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE),
    _d("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
    _d("kprobe+", P.KPROBE, auto_attach="kprobe"),
    _d("uprobe+", P.KPROBE, auto_attach="uprobe"),
    _d("uprobe.s+", P.KPROBE, sleepable=True, auto_attach="uprobe"),
    _d("kretprobe+", P.KPROBE, auto_attach="kprobe"),
    _d("uretprobe+", P.KPROBE, auto_attach="uprobe"),
    _d("uretprobe.s+", P.KPROBE, sleepable=True, auto_attach="uprobe"),
    _d("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    _d("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    _d("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    _d("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    _d("ksyscall+", P.KPROBE),
    _d("kretsyscall+", P.KPROBE),
    _d("usdt+", P.KPROBE),
    _d("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tc/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("tc", P.SCHED_CLS),
    _d("classifier", P.SCHED_CLS),
    _d("action", P.SCHED_ACT),
    _d("netkit/primary", P.SCHED_CLS, NETKIT_PRIMARY),
    _d("netkit/peer", P.SCHED_CLS, NETKIT_PEER),
    _d("tracepoint+", P.TRACEPOINT, auto_attach="tracepoint"),
    _d("tp+", P.TRACEPOINT, auto_attach="tracepoint"),
    _d("raw_tracepoint+", P.RAW_TRACEPOINT, auto_attach="raw_tp"),
    _d("raw_tp+", P.RAW_TRACEPOINT, auto_attach="raw_tp"),
    _d("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE, auto_attach="raw_tp"),
    _d("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE, auto_attach="raw_tp"),
    _d("tp_btf+", P.TRACING, A.TRACE_RAW_TP, attach_btf=True, auto_attach="tracing"),
    _d("fentry+", P.TRACING, A.TRACE_FENTRY, attach_btf=True, auto_attach="tracing"),
    _d("fmod_ret+", P.TRACING, A.MODIFY_RETURN, attach_btf=True, auto_attach="tracing"),
    _d("fexit+", P.TRACING, A.TRACE_FEXIT, attach_btf=True, auto_attach="tracing"),
    _d("fentry.s+", P.TRACING, A.TRACE_FENTRY, attach_btf=True, sleepable=True, auto_attach="tracing"),
    _d("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, attach_btf=True, sleepable=True, auto_attach="tracing"),
    _d("fexit.s+", P.TRACING, A.TRACE_FEXIT, attach_btf=True, sleepable=True, auto_attach="tracing"),
    _d("freplace+", P.EXT, attach_btf=True),
    _d("lsm+", P.LSM, A.LSM_MAC, attach_btf=True, auto_attach="lsm"),
    _d("lsm.s+", P.LSM, A.LSM_MAC, attach_btf=True, sleepable=True, auto_attach="lsm"),
    _d("lsm_cgroup+", P.LSM, A.LSM_CGROUP, attach_btf=True),
    _d("iter+", P.TRACING, A.TRACE_ITER, attach_btf=True, auto_attach="iter"),
    _d("iter.s+", P.TRACING, A.TRACE_ITER, attach_btf=True, sleepable=True, auto_attach="iter"),
    _d("syscall", P.SYSCALL, sleepable=True),
    _d("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, xdp_frags=True),
    _d("xdp/devmap", P.XDP, A.XDP_DEVMAP),
    _d("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, xdp_frags=True),
    _d("xdp/cpumap", P.XDP, A.XDP_CPUMAP),
    _d("xdp.frags", P.XDP, A.XDP, xdp_frags=True),
    _d("xdp", P.XDP, A.XDP),
    _d("perf_event", P.PERF_EVENT),
    _d("lwt_in", P.LWT_IN),
    _d("lwt_out", P.LWT_OUT),
    _d("lwt_xmit", P.LWT_XMIT),
    _d("lwt_seg6local", P.LWT_SEG6LOCAL),
    _d("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS),
    _d("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER),
    _d("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT),
    _d("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT),
    _d("sk_skb", P.SK_SKB),
    _d("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT),
    _d("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2),
    _d("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR),
    _d("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS),
    _d("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS),
    _d("cgroup/skb", P.CGROUP_SKB),
    _d("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE),
    _d("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND),
    _d("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND),
    _d("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND),
    _d("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND),
    _d("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT),
    _d("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT),
    _d("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, CGROUP_UNIX_CONNECT),
    _d("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG),
    _d("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG),
    _d("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, CGROUP_UNIX_SENDMSG),
    _d("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG),
    _d("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG),
    _d("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, CGROUP_UNIX_RECVMSG),
    _d("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME),
    _d("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME),
    _d("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, CGROUP_UNIX_GETPEERNAME),
    _d("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME),
    _d("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME),
    _d("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, CGROUP_UNIX_GETSOCKNAME),
    _d("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL),
    _d("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT),
    _d("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT),
    _d("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE),
    _d("struct_ops+", P.STRUCT_OPS),
    _d("struct_ops.s+", P.STRUCT_OPS, sleepable=True),
    _d("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP),
    _d("netfilter", P.NETFILTER, A.NETFILTER),
)

# what the kernel BTF name of an attach_btf target is, per program type / attach type
_BTF_TARGET_PREFIX = {int(A.TRACE_RAW_TP): "btf_trace_", int(A.LSM_MAC): "bpf_lsm_",
                      int(A.LSM_CGROUP): "bpf_lsm_", int(A.TRACE_ITER): "bpf_iter_"}


@dataclass(frozen=True, slots=True)
class ProgSection:
    """A section name resolved against the table."""
    name: str
    definition: SectionDef

    @property
    def prog_type(self) -> P:
        return self.definition.prog_type

    @property
    def attach_type(self) -> int:
        return self.definition.attach_type

    @property
    def extras(self) -> str:
        """What follows ``prefix/``: the target (``syscalls/sys_enter_getpid``, a function...)."""
        prefix = self.definition.prefix.rstrip("/")
        rest = self.name[len(prefix):]
        return rest[1:] if rest.startswith("/") else ""

    def prefix_is(self, stem: str) -> bool:
        """True when the matched definition is ``stem`` or one of its variants (``uretprobe.s``)."""
        prefix = self.definition.prefix.rstrip("/")
        return prefix == stem or prefix.startswith(stem + ".")

    @property
    def flags(self) -> int:
        flags = ProgFlags.SLEEPABLE if self.definition.sleepable else 0
        if self.definition.xdp_frags:
            flags |= ProgFlags.XDP_HAS_FRAGS
        return int(flags)

    @property
    def btf_target(self) -> str | None:
        """Kernel BTF type to look up for attach_btf_id (``btf_trace_sched_switch``,
        ``bpf_lsm_file_open``, a function for fentry), or None when not needed."""
        if not self.definition.attach_btf or not self.extras:
            return None
        if self.prog_type == P.EXT:
            return None  # freplace targets a BPF program, given by the caller
        return _BTF_TARGET_PREFIX.get(self.attach_type, "") + self.extras


def known_prefixes() -> list[str]:
    """Every section name or prefix the table knows, for error messages and docs."""
    seen: dict[str, None] = {}
    for d in SECTION_DEFS:
        seen.setdefault(d.pattern.rstrip("+") + ("/..." if d.pattern.endswith("+") else ""), None)
    return list(seen)


def parse_section(name: str) -> ProgSection:
    """Resolve a program section name; unknown names get an error listing the known ones."""
    for d in SECTION_DEFS:
        if d.matches(name):
            return ProgSection(name, d)
    raise InvalidInputError(
        f"unknown program section SEC(\"{name}\"): its program type cannot be guessed; "
        f"use one of: {', '.join(known_prefixes())}")


def is_program_section_name(name: str) -> bool:
    return any(d.matches(name) for d in SECTION_DEFS)
