"""kprobe attach points as bpftrace expands them: wildcards against the traceable functions, modules,
missing functions under each ``missing_probes`` mode, the programs limit, addresses, and ``-p``.

Expansion is checked on this host through ``--traceable-functions FILE`` (compiling needs no kprobes);
attaching, under the guest kernel."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from purebpf.trace.compiler import compile_program
from purebpf.trace.location import ProgramError

FUNCS = "vfs_read\nvfs_readv\nvfs_write\nrcu_read_lock\nrcu_note_context_switch\nfoo_fn [mymod]\n" \
        "__ftrace_invalid_address___64\n"


@pytest.fixture()
def traceable(tmp_path):
    path = tmp_path / "functions"
    path.write_text(FUNCS)
    return str(path)


def names(text: str, traceable: str, **kw) -> list[str]:
    program = compile_program(text, traceable=traceable, **kw)
    return [p.target.name for p in program.probes]


def test_wildcard_is_one_probe_per_traceable_function(traceable):
    assert names("kprobe:vfs_rea* { @[probe] = count(); }", traceable) == ["kprobe:vfs_read", "kprobe:vfs_readv"]
    assert names("kretprobe:vmlinux:vfs_* { }", traceable) == [
        "kretprobe:vmlinux:vfs_read", "kretprobe:vmlinux:vfs_readv", "kretprobe:vmlinux:vfs_write"]
    assert names("kprobe:* { }", traceable) == ["kprobe:foo_fn", "kprobe:vfs_read", "kprobe:vfs_readv",
                                                 "kprobe:vfs_write"]  # no RCU function, no ftrace filler


def test_rcu_functions_are_refused(traceable):
    with pytest.raises(ProgramError, match="ERROR: Probe has no valid attach points."):
        compile_program("kprobe:rcu_* { }", traceable=traceable)


def test_module_must_be_loaded(traceable):
    with pytest.raises(ProgramError, match="specified module nonsense in probe kprobe:nonsense:vfs_read is not "
                                           "loaded."):
        compile_program("kprobe:nonsense:vfs_read { }", traceable=traceable)


def test_missing_function_is_an_error_by_default(traceable):
    with pytest.raises(ProgramError) as exc:
        compile_program("kprobe:vfs_read, kprobe:bad { exit(); }", traceable=traceable)
    assert "WARNING: bad is not traceable (either non-existing, inlined, or marked as \"notrace\"); attaching " \
           "to it will likely fail" in str(exc.value)
    assert "ERROR: No matches for kprobe bad." in str(exc.value)


def test_missing_function_with_unsafe_is_kept_and_warned(traceable):
    program = compile_program("kprobe:vmlinux:nonsense { }", traceable=traceable, unsafe=True)
    assert [p.target.name for p in program.probes] == ["kprobe:vmlinux:nonsense"]
    assert "nonsense is not traceable" in program.warnings


def test_missing_probes_warn_removes_the_probe(traceable):
    program = compile_program("config = { missing_probes=warn } kprobe:zzzzz { probe; } begin { exit(); }",
                              traceable=traceable)
    assert [p.target.name for p in program.probes] == ["begin"]
    assert "WARNING: No matches for kprobe zzzzz. Skipping." in program.warnings
    assert "WARNING: Probe has no valid attach points. It is being removed which may cause issues with program " \
           "behavior." in program.warnings


def test_missing_probes_ignore_with_nothing_left(traceable):
    with pytest.raises(ProgramError) as exc:
        compile_program("config = { missing_probes=ignore } kprobe:nonsense { } t:syscalls:nonsense { }",
                        traceable=traceable)
    assert str(exc.value).splitlines()[-1] == "No probes to attach"


def test_programs_limit(traceable, monkeypatch):
    monkeypatch.setenv("BPFTRACE_MAX_BPF_PROGS", "2")
    with pytest.raises(ProgramError) as exc:
        compile_program("k:* { @[probe] = count(); }", traceable=traceable)
    assert str(exc.value) == (
        "stdin:1:1-4: ERROR: Your program is trying to generate more than 4 BPF programs, which exceeds the "
        "current limit of 2\nk:* { @[probe] = count(); }\n~~~\n"
        "HINT: You can increase the limit through the BPFTRACE_MAX_BPF_PROGS environment variable.")


def test_address_is_named_in_decimal(traceable):
    assert names("kprobe:0x12345678 { }", traceable, unsafe=True) == ["kprobe:305419896"]


def _trace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purebpf", "trace", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))


def test_probe_filter_matching_nothing_says_no_probes(traceable):
    proc = _trace("--traceable-functions", traceable, "--probe-filter", "nothing_xyz", "-e", "kprobe:vfs_read { }")
    assert proc.returncode == 1
    assert proc.stdout + proc.stderr == "No probes to attach\n"


def test_pid_filters_kernel_probes():
    """-p keeps a tracepoint's (and a kprobe's) hits to that process, as bpftrace does."""
    busy = subprocess.Popen([sys.executable, "-c", "import os\nwhile True: os.getppid()"])
    try:
        proc = _trace("-e", "tracepoint:raw_syscalls:sys_enter { @[pid] = count(); } interval:ms:500 { exit(); }",
                      "-p", str(busy.pid))
    finally:
        busy.kill()
        busy.wait()
    assert proc.returncode == 0, proc.stderr
    keys = [line.split("]")[0] for line in proc.stdout.splitlines() if line.startswith("@[")]
    assert keys == [f"@[{busy.pid}"], proc.stdout


@pytest.mark.guest_kernel
def test_kprobe_wildcard_and_address_attach():
    proc = _trace("-e", "kprobe:vfs_rea* { @[probe] = count(); } interval:ms:300 { exit(); }")
    assert proc.returncode == 0, proc.stderr
    assert "@[kprobe:vfs_read]:" in proc.stdout
    out = proc.stdout + proc.stderr
    assert int(out.split("Attached ")[1].split()[0]) >= 3  # vfs_read, vfs_readv, ... and interval
    proc = _trace("--unsafe", "-e", "kprobe:0x12345678 { }")
    assert proc.returncode == 1
    assert "ERROR: Unable to attach probe: kprobe:305419896" in proc.stderr
