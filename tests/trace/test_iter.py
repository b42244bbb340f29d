"""``iter:`` probes (BPF iterators): run once per kernel object when the tracer reads the iterator, after
BEGIN; the program then ends (END runs, maps print), as in bpftrace."""

from __future__ import annotations

from purebpf.trace.compiler import compile_program
from purebpf.trace.location import ProgramError

from .test_runtime import ours


def test_iter_task_shows_every_task_and_the_tracer_among_them():
    proc = ours('iter:task { printf("%d %s\\n", ctx->task->pid, ctx.task.comm); exit(); }')
    assert proc.returncode == 0, proc.stderr
    lines = [line.split(" ", 1) for line in proc.stdout.splitlines() if line]
    tasks = {int(pid): comm for pid, comm in lines}
    # exit() does not cut the iteration short: every task is shown, the tracer (named bpftrace) too
    assert "bpftrace" in tasks.values()
    assert len(tasks) == len(lines) > 10
    assert 2 in tasks or 1 in tasks  # the first pids are there as well


def test_the_end_of_iteration_call_without_an_object_is_skipped():
    proc = ours('iter:task { if (ctx.task == 0) { printf("null\\n"); } @n = count(); }')
    assert proc.returncode == 0, proc.stderr
    assert "null" not in proc.stdout
    assert int(proc.stdout.split("@n:")[1]) > 10


def test_begin_runs_first_and_end_after_the_iteration():
    proc = ours('BEGIN { printf("begin\\n"); } iter:task_file { @files = count(); } '
                'END { printf("end %d\\n", @files > 0); clear(@files); }')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["begin", "end", "1"]
    assert "Attached 3 probes" in proc.stderr


def test_task_vma_and_printf_of_several_values():
    proc = ours('iter:task_vma /ctx.task.pid == pid/ { printf("%s: %d %d\\n", "vma", ctx.vma->vm_start > 0, 7); }')
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split("\n")) - {""} == {"vma: 1 7"}


def test_comm_of_a_pid():
    proc = ours("iter:task { @ = comm(pid); exit() }")
    assert proc.returncode == 0, proc.stderr
    assert "@: bpftrace" in proc.stdout


def test_comm_of_a_pid_needs_a_btf_typed_probe():
    try:
        compile_program("tracepoint:syscalls:sys_enter_getpid { @ = comm(pid); }")
    except ProgramError as exc:
        assert "comm(pid) can only be used in iter" in str(exc)
    else:
        raise AssertionError("comm(pid) compiled in a tracepoint")


def test_unknown_target_and_pins_are_refused():
    for program, message in (("iter:no_such { }", "iter no_such not available"),
                             ("iter:task:pinned { }", "pinned iterators")):
        proc = ours(program)
        assert proc.returncode != 0 and message in proc.stderr


def test_listing_names_the_kernels_iterators():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-l", "iter:task*"], capture_output=True,
                          text=True, timeout=60)
    listed = set(proc.stdout.split())
    assert {"iter:task", "iter:task_file", "iter:task_vma"} <= listed
    assert all(name.startswith("iter:task") for name in listed)


def test_info_reports_iter():
    import subprocess
    import sys

    info = subprocess.run([sys.executable, "-m", "purebpf", "trace", "--info"], capture_output=True, text=True,
                          timeout=60).stdout
    assert "  iter: yes" in info.splitlines()
