"""Loading real objects into the running kernel and watching them work."""

from __future__ import annotations

import os
import struct

import pytest

import purebpf
from purebpf.btf import BTF
from purebpf.errors import InvalidInputError, VerifierError
from purebpf.programs.testrun import test_run as run_prog
from purebpf.sys import ProgType

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3


def test_tracepoint_counts_getpid_in_bss(bpf_objects, no_fd_leak):
    me = os.getpid()
    with purebpf.load(bpf_objects["globals"], rodata={"target_pid": me}) as obj:
        assert obj.globals["getpid_count"] == 0 and obj.globals["calls_seen"] == 7
        links = obj.attach()
        assert len(links) == 2
        for _ in range(5):
            os.getpid()
        os.getppid()
        assert obj.globals["getpid_count"] == 5 + 1000          # bump() from both programs
        assert obj.globals.last_pid_tgid >> 32 == me            # attribute access too
        assert obj.globals["calls_seen"] == 7 + 5                # .data
        assert obj.globals["extra_counter"] == 100 + 5          # .data.extra
        assert dict(obj.maps["counts"].items()) == {me: 5}       # hash map, via the global subprogram


def test_rodata_target_pid_filters_other_processes(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["globals"], rodata={"target_pid": 1}, attach=True) as obj:
        for _ in range(3):
            os.getpid()
        assert obj.globals["getpid_count"] == 0
        assert obj.globals["target_pid"] == 1
        with pytest.raises(InvalidInputError, match="frozen after load"):
            obj.globals["target_pid"] = 2


def test_globals_are_writable_and_initialisable(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["globals"], rodata={"target_pid": os.getpid(), "increment": 10},
                      data={"getpid_count": 500}) as obj:
        assert obj.globals["getpid_count"] == 500
        obj.attach("count_getpid")
        os.getpid()
        assert obj.globals["getpid_count"] == 510
        obj.globals["getpid_count"] = 0
        os.getpid()
        assert obj.globals["getpid_count"] == 10
        assert set(obj.globals) >= {"getpid_count", "target_pid", "calls_seen", "extra_counter"}


def test_tail_call_through_initialised_prog_array(bpf_objects, no_fd_leak):
    for slot, expected, reached in ((0, XDP_PASS, 1), (2, XDP_TX, 2), (1, XDP_DROP, 0)):
        with purebpf.load(bpf_objects["tailcall"], rodata={"slot": slot}) as obj:
            assert obj.attach() == []       # XDP needs an interface: nothing to auto-attach
            result = run_prog(obj.programs["entry"].fd, ProgType.XDP, "entry", bytes(64))
            assert result.retval == expected
            assert obj.globals["reached"] == reached


def test_map_in_map_and_kconfig_values(bpf_objects, no_fd_leak):
    release = os.uname().release.split("-")[0].split(".")
    major, minor, patch = (int(x) for x in (release + ["0"])[:3])
    with purebpf.load(bpf_objects["mapinmap"]) as obj:
        obj.maps["inner_a"][0] = 11
        obj.maps["inner_b"][0] = 22
        assert run_prog(obj.programs["read_inner"].fd, ProgType.XDP, "read_inner", bytes(64)).retval == XDP_PASS
        assert (obj.globals["seen_a"], obj.globals["seen_b"]) == (11, 22)
        assert obj.globals["kernel_version"] == (major << 16) | (minor << 8) | min(patch, 255)
        assert obj.globals["has_bpf_syscall"] == 1
        assert obj.globals["hz"] in (100, 250, 300, 1000)


def test_core_reads_real_parent_tgid(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["core"], rodata={"target_pid": os.getpid()}, attach=True) as obj:
        os.getppid()
        g = obj.globals
        assert g["parent_tgid"] == os.getppid()
        assert (g["has_real_parent"], g["has_bogus_field"]) == (1, 0)
        assert g["task_size_ok"] == 1 and g["prio_is_signed"] == 1
        assert g["pid_enum_value"] == BTF.load_kernel().enum_values("pid_type")["PIDTYPE_TGID"]
        assert g["task_btf_id"] == BTF.load_kernel().find_ids("task_struct", "struct")[0]
        assert (g["old_flavour_exists"], g["tgid_enum_exists"]) == (1, 1)
        assert g["in_execve"] == 0


def test_core_against_a_given_btf_file(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["core"], rodata={"target_pid": os.getpid()}, btf="/sys/kernel/btf/vmlinux",
                      attach=True) as obj:
        os.getppid()
        assert obj.globals["parent_tgid"] == os.getppid()


def test_core_missing_field_names_type_and_field(bpf_objects, no_fd_leak):
    with pytest.raises(VerifierError) as exc:
        purebpf.load(bpf_objects["core_missing"])
    msg = str(exc.value)
    assert "kernel struct task_struct has no field no_such_field_in_kernel" in msg
    assert "struct task_struct___missing.no_such_field_in_kernel" in msg
    assert "core_missing.bpf.c:" in msg
    assert "unknown#195896080" in exc.value.log


def test_verifier_failure_carries_the_c_line(bpf_objects, no_fd_leak):
    with pytest.raises(VerifierError) as exc:
        purebpf.load(bpf_objects["bad_access"])
    assert "unchecked_read" in str(exc.value)
    assert "return *(int *)(long)ctx->data; @ bad_access.bpf.c:" in exc.value.source_line
    assert "return *(int *)(long)ctx->data;" in str(exc.value)


def test_program_type_can_be_changed_before_load(bpf_objects, no_fd_leak):
    from purebpf.elf.sections import parse_section
    spec = purebpf.object.read_object(bpf_objects["bad_access"])
    spec.programs["unchecked_read"] = parse_section("socket")   # ctx->data is not a socket filter's field
    with pytest.raises(VerifierError, match="program 'unchecked_read'"):
        purebpf.object.BPFObject(spec)


def test_close_releases_everything(bpf_objects, no_fd_leak):
    obj = purebpf.load(bpf_objects["mapinmap"])
    fds = [m.fd for m in obj.maps.values()] + [p.fd for p in obj.programs.values()]
    obj.close()
    assert all(not os.path.exists(f"/proc/self/fd/{fd}") or os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:bpf-map"
               for fd in fds)
    assert all(m.closed for m in obj.maps.values()) and all(p.closed for p in obj.programs.values())


def test_values_round_trip():
    from purebpf.elf.values import encode_value
    assert encode_value(None, 0, 4, 7, "x") == struct.pack("<i", 7)
    assert encode_value(None, 0, 8, "ab", "x") == b"ab" + bytes(6)
    with pytest.raises(InvalidInputError, match="at most 3"):
        encode_value(None, 0, 4, "abcd", "x")


def test_auto_attach_from_section_names(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["autoattach"], rodata={"target_pid": os.getpid()}) as obj:
        links = obj.attach()
        kinds = sorted(type(link).__name__ for link in links)
        assert kinds == ["RawTracepoint", "TpBtf", "Uprobe", "Uprobe"]
        for _ in range(3):
            os.getpid()
        g = obj.globals
        assert g["uprobe_hits"] == 3 and g["uretprobe_hits"] == 3
        assert g["raw_tp_hits"] >= 3 and g["tp_btf_hits"] >= 3
        with pytest.raises(InvalidInputError, match="cannot be attached from its section name"):
            obj.attach("not_auto_attached")
    assert all(link.closed for link in links)


def test_maps_and_programs_carry_btf(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["globals"]) as obj:
        info = obj.maps["counts"].info()
        assert info.btf_id and info.btf_key_type_id and info.btf_value_type_id
        assert obj.maps["globals.bss"].info().btf_value_type_id
        from purebpf.programs.info import program_info
        pinfo = program_info(obj.programs["count_getpid"].fd)
        assert pinfo.btf_id == info.btf_id and pinfo.nr_func_info == 3 and pinfo.nr_line_info > 10


def test_legacy_maps_section_and_hidden_function(bpf_objects, no_fd_leak):
    with purebpf.load(bpf_objects["legacy"]) as obj:
        hits = obj.maps["hits"]
        assert (hits.key_size, hits.value_size, hits.max_entries) == (4, 8, 4)
        prog = obj.programs["count_packets"]
        for _ in range(2):
            assert run_prog(prog.fd, ProgType.XDP, "count_packets", bytes(64)).retval == XDP_PASS
        assert hits[2] == 2 and hits[0] == 0
