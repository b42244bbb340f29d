"""fentry/fexit attach points: module and BPF-program targets, wildcards over the kernel's traceable
BTF functions, the missing_probes config, argument slots of large arguments, is_err()."""

from __future__ import annotations

import fnmatch

import pytest

from purebpf.trace.compiler import compile_program, program_targets
from purebpf.trace.location import ProgramError
from purebpf.trace.probes import ProbeError, ProbeTarget, function_name, parse_attach_point
from purebpf.trace.structs import StructTable, function_args, kernel_btf

from .test_runtime import ours, python_command

needs_btf = pytest.mark.skipif(kernel_btf() is None, reason="needs kernel BTF")


@pytest.mark.parametrize("raw, target", [
    ("fentry:vfs_read", ProbeTarget("fentry", "", "vfs_read")),
    ("fentry:vmlinux:vfs_read", ProbeTarget("fentry", "", "vfs_read")),
    ("kfunc:nf_tables:nft_do_chain", ProbeTarget("fentry", "nf_tables", "nft_do_chain")),
    ("fexit:bpf:12:my_prog", ProbeTarget("fexit", "bpf:12", "my_prog")),
    ("fentry:bpf:my_prog", ProbeTarget("fentry", "bpf", "my_prog")),
    ("fentry:bpf:*:my_prog", ProbeTarget("fentry", "bpf:*", "my_prog")),
])
def test_fentry_attach_points_keep_their_module(raw, target):
    assert parse_attach_point(raw) == target


@pytest.mark.parametrize("raw, message", [
    ("fentry:bpf:x:my_prog", "bpf program id must be a number or '*'"),
    ("fexit:bpf:", "requires a bpf program name"),
])
def test_bad_bpf_program_targets_are_refused(raw, message):
    with pytest.raises(ProbeError, match=message):
        parse_attach_point(raw)


def test_a_duration_written_short_is_named_in_microseconds():
    # bpftrace names interval:100ms interval:us:100000: the probe builtin and the program's function say so
    assert parse_attach_point("interval:100ms") == ProbeTarget("interval", "us", "100000", period=100_000_000)
    assert parse_attach_point("interval:ms:100").name == "interval:ms:100"
    assert function_name("interval:us:100000", 1) == "interval_us_100000_1"
    assert function_name("uprobe:./testprogs/uprobe_test:uprobeFunction1", 2) == \
        "uprobe___testprogs_uprobe_test_uprobeFunction1_2"
    long = function_name("uprobe:/" + "x" * 300 + ":f", 3)
    assert len(long) < 128 and long.isidentifier() and long.endswith("_3")


def test_trace_programs_name_their_function_as_bpftrace_and_fentry_bpf_finds_them():
    from purebpf.links.prog_target import program_functions
    from purebpf.trace.runtime import Tracer

    tracer = Tracer(compile_program("interval:100ms { @a = 1; } tracepoint:syscalls:sys_enter_getpid { @b = 1; }"))
    try:
        tracer.load()
        names = [f.name for prog in tracer.progs.values() for f in program_functions(prog.fd)]
        assert names == ["interval_us_100000_1", "tracepoint_syscalls_sys_enter_getpid_2"]
        ids = [f.prog_id for prog in tracer.progs.values() for f in program_functions(prog.fd)]
        found = compile_program("fexit:bpf:interval_us_1000*_1 { print(retval); }").probes
        assert [(p.target.target, p.target.name) for p in found] == \
            [(f"bpf:{ids[0]}", f"fexit:bpf:{ids[0]}:interval_us_100000_1")]
        with pytest.raises(ProgramError, match="The args builtin cannot be used for 'fentry/fexit:bpf' probes"):
            compile_program(f"fentry:bpf:{ids[1]}:tracepoint_* {{ print(args); }}")
    finally:
        tracer.close()
    with pytest.raises(ProgramError, match=r"No matches for fentry bpf:interval_us_100000_1\."):
        compile_program("fentry:bpf:interval_us_100000_1 { exit(); }")


@needs_btf
def test_fentry_wildcards_expand_to_kernel_functions():
    names = [t.func for t in program_targets("fentry:vfs_re*ad, fexit:vmlinu*:vfs_wri* { }")]
    assert "vfs_read" in names and "vfs_write" in names
    assert all(fnmatch.fnmatchcase(n, "vfs_re*ad") or fnmatch.fnmatchcase(n, "vfs_wri*") for n in names)


@needs_btf
def test_a_missing_fentry_function_follows_missing_probes():
    with pytest.raises(ProgramError, match=r"ERROR: No matches for fentry nonsense\."):
        compile_program("fentry:vfs_read,fentry:nonsense { exit(); }")
    warned = compile_program('config = { missing_probes = "warn" } fentry:vfs_read,fentry:nonsense { exit(); }')
    assert "WARNING: No matches for fentry nonsense. Skipping." in warned.warnings
    assert [p.target.func for p in warned.probes] == ["vfs_read"]
    quiet = compile_program('config = { missing_probes = "ignore" } fentry:vfs_read,fentry:nonsense { exit(); }')
    assert quiet.warnings == "" and [p.target.func for p in quiet.probes] == ["vfs_read"]
    with pytest.raises(ProgramError, match=r"No matches for fexit vfs_zz\*\."):
        compile_program("fexit:vfs_zz* { exit(); }")


@needs_btf
def test_a_struct_argument_fills_as_many_slots_as_its_size():
    # __sys_bpf(int cmd, bpfptr_t uattr, unsigned int size): bpfptr_t is 16 bytes, two u64 slots
    found = function_args(StructTable(btf_source=kernel_btf), "fexit", "__sys_bpf")
    assert found is not None
    assert [offset for offset, _ in found.args.values()] == [0, 8, 24]
    assert found.retval is not None and found.retval[0] == 32


def test_is_err_is_true_for_error_pointers_only():
    proc = ours('begin { printf("%d %d %d %d\\n", is_err((int64)-2), is_err(-4095), is_err(-4096), is_err(5)); '
                'exit(); }')
    assert proc.returncode == 0, proc.stderr
    assert "1 1 0 0\n" in proc.stdout


@pytest.mark.guest_kernel
def test_fexit_wildcard_reads_arguments_after_a_large_one(tmp_path):
    # bpf(1111, NULL, 2222) fails with -EINVAL... or -E2BIG: any error; the arguments are what counts
    command = python_command("import ctypes; ctypes.CDLL(None).syscall(321, 1111, 0, 2222)", tmp_path)
    proc = ours('fexit:__sys_bp* /args.cmd == 1111/ { printf("%s %d %d %d\\n", probe, args.cmd, args.size, '
                'is_err(retval)); }', command)
    assert proc.returncode == 0, proc.stderr
    assert "fexit:__sys_bpf 1111 2222 1\n" in proc.stdout


@pytest.mark.guest_kernel
def test_fentry_and_fexit_on_a_loaded_bpf_program(tmp_path):
    from purebpf.trace.runtime import Tracer

    target = Tracer(compile_program("tracepoint:syscalls:sys_enter_getpid { @n = count(); }"))
    try:
        target.load()
        target.attach()
        prog_id = target.progs[0].id
        command = python_command("import os, time\nfor _ in range(50): os.getpid(); time.sleep(0.1)", tmp_path)
        proc = ours('fentry:bpf:tracepoint_syscalls_sys_enter_getpid_1 { printf("%s\\n", probe); } '
                    'fexit:bpf:tracepoint_syscalls_sys_enter_getp*_1 { printf("ret %d\\n", retval); exit(); }',
                    command)
    finally:
        target.close()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"fentry:bpf:{prog_id}:tracepoint_syscalls_sys_enter_getpid_1" in lines
    assert "ret 0" in lines
