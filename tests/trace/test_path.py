"""``path(p[, size])``: the full path of a ``struct path`` through bpf_d_path, which the kernel lets
iterators call and fentry/fexit only on an allowlist of functions; ``--info`` says whether it works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from purebpf.trace.compiler import compile_program
from purebpf.trace.info import info_lines
from purebpf.trace.location import ProgramError

from .test_runtime import ours, python_command

D_PATH = "  d_path: yes" in info_lines()
needs_d_path = pytest.mark.skipif(not D_PATH, reason="this kernel lets no iterator call bpf_d_path")


@pytest.fixture
def holder(tmp_path):
    """A process holding a file of a known, long full path open on its stdin."""
    where = tmp_path.resolve() / ("d" * 60) / "held_file.txt"
    where.parent.mkdir()
    where.write_text("x")
    with open(where) as f:
        proc = subprocess.Popen(["sleep", "60"], stdin=f)
    try:
        yield proc.pid, str(where)
    finally:
        proc.kill()
        proc.wait()


def files_of(pid: int, body: str, *extra: str) -> list[str]:
    proc = ours(f"iter:task_file /ctx->task->tgid == {pid}/ {{ {body} }}", None, *extra)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_info_reports_d_path_and_dpath_alike():
    lines = info_lines()
    helper = next(line for line in lines if line.startswith("  d_path: "))
    feature = next(line for line in lines if line.startswith("  dpath: "))
    assert helper.split()[-1] == feature.split()[-1]


@needs_d_path
def test_iter_task_file_shows_an_open_file_with_its_full_path(holder):
    pid, where = holder
    lines = files_of(pid, 'printf("%d %s\\n", ctx->fd, path(ctx->file->f_path));')
    assert f"0 {where}" in lines
    assert len(where) > 64  # beyond the old 64-byte default: the buffer is max_strlen (scratch memory)


@needs_d_path
def test_a_size_bounds_the_buffer_and_its_string_type(holder):
    pid, where = holder
    fits, short = len(where) + 1, len(where)
    lines = files_of(pid, f'if (ctx->fd == 0) {{ printf("%d %s|%s\\n", sizeof(path(ctx.file.f_path, {fits})), '
                          f'path(ctx.file.f_path, {fits}), path(ctx->file->f_path, {short})); }}')
    size, rest = lines[0].split(" ", 1)
    whole, cut = rest.split("|")
    assert int(size) == fits and whole == where
    assert cut != where and len(cut) < len(where)  # too long for the buffer: the kernel keeps a part


@needs_d_path
def test_paths_as_map_keys(holder):
    pid, where = holder
    assert f"@[{where}]: 1" in files_of(pid, "@[path(ctx->file->f_path)] = count();")


@needs_d_path
def test_a_null_pointer_on_the_way_gives_an_empty_path(holder):
    pid, _ = holder
    proc = ours(f'iter:task_vma /ctx->task->tgid == {pid}/ {{ printf("<%s>\\n", path(ctx->vma->vm_file->f_path)); }}')
    assert proc.returncode == 0, proc.stderr
    shown = set(proc.stdout.split())
    assert f"<{os.path.realpath(shutil.which('sleep'))}>" in shown
    assert "<>" in shown  # the stack and other anonymous mappings have no file


@needs_d_path
def test_the_default_size_is_max_strlen(holder):
    pid, _ = holder
    probe = (f"iter:task_file /ctx->task->tgid == {pid} && ctx->fd == 0/ "
             '{ printf("%d\\n", sizeof(path(ctx->file->f_path))); }')
    configured = ours("config = { max_strlen = 32 } " + probe)
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.split() == ["32"]
    from_env = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-e", probe], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "BPFTRACE_MAX_STRLEN": "40"})
    assert from_env.returncode == 0, from_env.stderr
    assert from_env.stdout.split() == ["40"]


@pytest.mark.parametrize("program, message", [
    ("tracepoint:syscalls:sys_enter_openat { print(path(args.filename)); }",
     "path() expects a struct path or a struct path * (int8 * provided)"),
    ("tracepoint:syscalls:sys_enter_openat { print(path(args.filename)); }",
     "The path function can only be used with 'fentry', 'fexit', 'iter' probes"),
    ("iter:task_file { print(path(ctx->file)); }", "path() expects a struct path or a struct path *"),
    ("iter:task_file { $n = 8; print(path(ctx->file->f_path, $n)); }",
     "path: invalid size value, need a positive integer literal"),
    ("iter:task_file { print(path(ctx->file->f_path, 0)); }", "path: invalid size value"),
    ("iter:task_file { $s = *ctx->file; print(path($s.f_path)); }",
     "path() needs a pointer the kernel knows by BTF type"),
    ("iter:task_file { print(path()); }", "path() requires between 1 and 2 arguments (0 provided)"),
])
def test_bad_uses_are_refused_before_loading(program, message):
    with pytest.raises(ProgramError) as caught:
        compile_program(program)
    assert message in str(caught.value)


@pytest.mark.guest_kernel
def test_fentry_on_an_allowed_function_and_refusal_elsewhere(tmp_path):
    where = tmp_path.resolve() / "opened_by_the_test.txt"
    command = python_command(f"open({str(where)!r}, 'w').close()", tmp_path)
    proc = ours('fentry:security_file_open /strcontains(path(args.file.f_path, 128), "opened_by_the")/ '
                '{ printf("%s %d\\n", path(args.file.f_path), sizeof(path(args.file.f_path, 20))); exit(); }',
                command)
    assert proc.returncode == 0, proc.stderr
    assert f"{where} 20\n" in proc.stdout
    refused = ours('fentry:vfs_read { print("a"); print(path(args.file.f_path)); print("b"); }')
    assert refused.returncode != 0
    assert "stdin:1:37-59: ERROR: helper bpf_d_path not allowed in probe" in refused.stderr
