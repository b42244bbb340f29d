"""SEC() names, internal map names, flavour names, kernel versions: pure tables and rules."""

from __future__ import annotations

import pytest

from purebpf.btf.core import essential_name
from purebpf.elf.kconfig import kernel_version
from purebpf.elf.maps import internal_map_name
from purebpf.elf.sections import known_prefixes, parse_section
from purebpf.errors import InvalidInputError
from purebpf.sys import AttachType, ProgFlags, ProgType


@pytest.mark.parametrize("name, prog_type, attach_type, extras", [
    ("tp/syscalls/sys_enter_getpid", ProgType.TRACEPOINT, 0, "syscalls/sys_enter_getpid"),
    ("tracepoint/sched/sched_switch", ProgType.TRACEPOINT, 0, "sched/sched_switch"),
    ("raw_tp/sys_enter", ProgType.RAW_TRACEPOINT, 0, "sys_enter"),
    ("raw_tracepoint.w/foo", ProgType.RAW_TRACEPOINT_WRITABLE, 0, "foo"),
    ("tp_btf/sched_switch", ProgType.TRACING, AttachType.TRACE_RAW_TP, "sched_switch"),
    ("fentry/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FENTRY, "do_unlinkat"),
    ("fexit/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FEXIT, "do_unlinkat"),
    ("fmod_ret/security_x", ProgType.TRACING, AttachType.MODIFY_RETURN, "security_x"),
    ("lsm/file_open", ProgType.LSM, AttachType.LSM_MAC, "file_open"),
    ("kprobe/do_sys_open", ProgType.KPROBE, 0, "do_sys_open"),
    ("kretprobe/do_sys_open", ProgType.KPROBE, 0, "do_sys_open"),
    ("uprobe//bin/bash:readline", ProgType.KPROBE, 0, "/bin/bash:readline"),
    ("perf_event", ProgType.PERF_EVENT, 0, ""),
    ("xdp", ProgType.XDP, AttachType.XDP, ""),
    ("tc", ProgType.SCHED_CLS, 0, ""),
    ("tcx/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, ""),
    ("tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS, ""),
    ("classifier", ProgType.SCHED_CLS, 0, ""),
    ("cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, ""),
    ("cgroup/sock_create", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE, ""),
    ("cgroup/connect4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, ""),
    ("sockops", ProgType.SOCK_OPS, AttachType.CGROUP_SOCK_OPS, ""),
    ("sk_msg", ProgType.SK_MSG, AttachType.SK_MSG_VERDICT, ""),
    ("sk_skb/stream_parser", ProgType.SK_SKB, AttachType.SK_SKB_STREAM_PARSER, ""),
    ("sk_skb/stream_verdict", ProgType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT, ""),
    ("socket", ProgType.SOCKET_FILTER, 0, ""),
    ("iter/task", ProgType.TRACING, AttachType.TRACE_ITER, "task"),
    ("syscall", ProgType.SYSCALL, 0, ""),
])
def test_section_table(name, prog_type, attach_type, extras):
    sec = parse_section(name)
    assert sec.prog_type == prog_type
    assert sec.attach_type == attach_type
    assert sec.extras == extras


def test_flags_and_btf_targets():
    assert parse_section("uprobe.s//bin/true:main").flags == ProgFlags.SLEEPABLE
    assert parse_section("xdp.frags").flags == ProgFlags.XDP_HAS_FRAGS
    assert parse_section("xdp").flags == 0
    assert parse_section("tp_btf/sched_switch").btf_target == "btf_trace_sched_switch"
    assert parse_section("lsm/file_open").btf_target == "bpf_lsm_file_open"
    assert parse_section("iter/task").btf_target == "bpf_iter_task"
    assert parse_section("fentry/do_unlinkat").btf_target == "do_unlinkat"
    assert parse_section("tp/syscalls/x").btf_target is None
    assert parse_section("uretprobe/x:y").prefix_is("uretprobe")
    assert not parse_section("uprobe/x:y").prefix_is("uretprobe")


@pytest.mark.parametrize("name", ["xdpfoo", "tpx/a/b", "not_a_section", "kprobefoo/x", "tcx"])
def test_unknown_sections_are_refused_with_the_known_list(name):
    with pytest.raises(InvalidInputError, match=r"unknown program section .*tracepoint/\.\.\.") as exc:
        parse_section(name)
    assert name in str(exc.value)
    assert "xdp" in known_prefixes()


@pytest.mark.parametrize("obj, section, expected", [
    ("globals", ".rodata", "globals.rodata"),
    ("globals", ".bss", "globals.bss"),
    ("my_object_name", ".rodata", "my_objec.rodata"),
    ("my_object_name", ".bss", "my_objec.bss"),       # 7 characters are reserved for the suffix
    ("obj", ".rodata.str1.1", ".rodata.str1.1"),       # custom sections go without the object name
    ("obj", ".data.a_very_long_section_name", ".data.a_very_lo"),
    ("my-obj", ".data", "my_obj.data"),
])
def test_internal_map_names_follow_libbpf(obj, section, expected):
    assert internal_map_name(obj, section) == expected


def test_flavour_suffixes():
    assert essential_name("task_struct___old") == "task_struct"
    assert essential_name("task_struct___old___v2") == "task_struct___old"
    assert essential_name("task_struct") == "task_struct"
    assert essential_name("a____b") == "a____b"   # four underscores are not a flavour separator
    assert essential_name("__u32") == "__u32"


def test_kernel_version():
    assert kernel_version("6.18.44-fc-v657") == (6 << 16) | (18 << 8) | 44
    assert kernel_version("5.4.300") == (5 << 16) | (4 << 8) | 255
    assert kernel_version("6.1") == (6 << 16) | (1 << 8)
