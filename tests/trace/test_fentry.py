"""fentry/fexit attach points: module and BPF-program targets, wildcards over the kernel's traceable
BTF functions, the missing_probes config, argument slots of large arguments, is_err()."""

from __future__ import annotations

import fnmatch

import pytest

from purebpf.trace.compiler import compile_program, program_targets
from purebpf.trace.location import ProgramError
from purebpf.trace.probes import ProbeTarget, parse_attach_point
from purebpf.trace.structs import StructTable, function_args, kernel_btf

from .test_runtime import ours, python_command

needs_btf = pytest.mark.skipif(kernel_btf() is None, reason="needs kernel BTF")


@pytest.mark.parametrize("raw, target", [
    ("fentry:vfs_read", ProbeTarget("fentry", "", "vfs_read")),
    ("fentry:vmlinux:vfs_read", ProbeTarget("fentry", "", "vfs_read")),
    ("kfunc:nf_tables:nft_do_chain", ProbeTarget("fentry", "nf_tables", "nft_do_chain")),
    ("fexit:bpf:12:my_prog", ProbeTarget("fexit", "bpf:12", "my_prog")),
    ("fentry:bpf:my_prog", ProbeTarget("fentry", "bpf", "my_prog")),
])
def test_fentry_attach_points_keep_their_module(raw, target):
    assert parse_attach_point(raw) == target


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
