"""Wildcard uprobes as one program and one uprobe_multi link (Linux 6.6+): the output must not change.

Each program runs twice on the same workload, once grouped (uprobe_multi=True) and once with one program
per function (uprobe_multi=False, what kernels without uprobe_multi get), and both outputs must agree.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time

import pytest

from purebpf import features
from purebpf.trace.compiler import ProgramError, compile_program
from purebpf.trace.runtime import Tracer

PROGRAM = r"""
#include <stdio.h>
#include <time.h>
__attribute__((noipa)) int step_one(int x) { return x + 1; }
__attribute__((noipa)) int step_two(int x) { return x + 2; }
__attribute__((noipa)) int step_three(int x) { return x + 3; }
__attribute__((noipa)) int other(int x) { return x; }
int main(int argc, char **argv) {
  char line[8];
  if (argc == 1 && !fgets(line, sizeof line, stdin)) return 1;  /* once: wait until the tracer has attached */
  struct timespec pause = { 0, 20 * 1000 * 1000 };
  int n = argc > 1 ? 250 : 1, s = 0;   /* with an argument: keep calling for 5 s */
  for (int i = 0; i < n; i++) {
    s += step_one(i) + step_two(i) + step_two(i) + step_three(i) + step_three(i) + step_three(i) + other(i);
    if (n > 1) nanosleep(&pause, 0);
  }
  return s == 42;
}
"""

needs_multi = pytest.mark.skipif(not features.has_attach_kind("uprobe_multi"),
                                 reason="this kernel has no uprobe_multi links (Linux 6.6+)")


@pytest.fixture(scope="module")
def progdir(tmp_path_factory) -> str:
    """``./steps`` in a folder whose path is long, so probe names pass bpftrace's 64-byte string."""
    d = tmp_path_factory.mktemp("uprobe_multi") / ("a_rather_long_directory_name_" * 2)
    d.mkdir()
    (d / "steps.c").write_text(PROGRAM)
    subprocess.run(["gcc", "-O1", "-fno-inline", "-o", str(d / "steps"), str(d / "steps.c")], check=True)
    return str(d)


def run(text: str, binary: str, *, multi: bool) -> tuple[str, int, list]:
    """Output, the "Attached N" count and the links' kinds of one run of ``text`` over one run of ``binary``
    (started once the probes are attached; tracing stops a moment after it ends)."""
    program = compile_program(text, uprobe_multi=multi)
    out = io.StringIO()
    seen: dict = {}
    work = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def attached(count: int) -> None:
        seen.update(count=count, kinds=[link.kind for link in tracer.links])
        work.communicate(b"go\n", timeout=10)

        def stop() -> None:
            time.sleep(0.5)  # the last events reach the ring buffer reader first
            tracer.exit_requested = True
        threading.Thread(target=stop, daemon=True).start()

    try:
        with Tracer(program, out=out) as tracer:
            tracer.run(on_attached=attached)
    finally:
        work.kill()
        work.wait()
    return out.getvalue(), seen["count"], seen["kinds"]


def test_one_program_per_wildcard_attach_point_and_binary(progdir):
    text = f"uprobe:{progdir}/steps:step_* {{ @[func] = count(); }} uretprobe:{progdir}/steps:step_one {{ }}"
    grouped = compile_program(text, uprobe_multi=True)
    assert [len(p.multi) for p in grouped.probes] == [3, 0]
    assert [t.func for t in grouped.probes[0].multi] == ["step_one", "step_three", "step_two"]
    assert grouped.probes[0].cookies == [0, 1, 2] and len(grouped.probe_names) == 3
    single = compile_program(text, uprobe_multi=False)
    assert [len(p.multi) for p in single.probes] == [0, 0, 0, 0] and not single.probe_names


def test_a_body_that_depends_on_the_function_keeps_one_program_each(progdir):
    # args are typed per function (DWARF); uaddr() is relative to each function's address
    for body in ("@ = args", 'printf("%p\\n", uaddr("nothing"))'):
        text = f"uprobe:{progdir}/steps:step_* {{ {body} }}"
        try:
            program = compile_program(text, uprobe_multi=True)
        except Exception:  # no DWARF / no such symbol: an error either way, never a shared program
            continue
        assert all(not p.multi for p in program.probes)


@needs_multi
@pytest.mark.parametrize("provider", ["uprobe", "uretprobe"])
def test_probe_and_func_come_from_the_cookie_and_match_one_program_per_function(progdir, provider):
    binary = f"{progdir}/steps"
    text = (f'{provider}:{binary}:step_* {{ @[probe] = count(); @f[func] = count(); printf("%s|%s\\n", func, probe); '
            '$s = probe; @len[func] = strlen($s); }')
    grouped, count, kinds = run(text, binary, multi=True)
    single, count1, kinds1 = run(text, binary, multi=False)
    assert (count, count1) == (3, 3)  # bpftrace counts every function of a multi-attached wildcard
    assert kinds == [f"{provider}_multi"] and kinds1 == [provider] * 3
    assert sorted(grouped.splitlines()) == sorted(single.splitlines())
    # the probe name is longer than bpftrace's 64-byte string: cut as the constant is
    assert "@f[step_three]: 3" in grouped and "@len[step_two]: 63" in grouped
    name = f"{provider}:{binary}:step_one"[:63]
    assert f"{name}|" not in grouped  # the full name never fits
    assert f"step_one|{name}\n" in grouped


@needs_multi
def test_pid_restricts_a_multi_link_to_that_process(progdir):
    binary = f"{progdir}/steps"
    target = subprocess.Popen([binary, "loop"])
    other = subprocess.Popen([binary, "loop"])
    try:
        time.sleep(0.2)
        proc = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-p", str(target.pid), "-e",
                               f"uprobe:{binary}:step_t* {{ @[pid, func] = count(); if (@[pid, func] >= 3) "
                               "{ exit(); } }"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=os.getcwd()))
        assert proc.returncode == 0, proc.stderr
        assert "Attached 2 probes" in proc.stderr
        assert f"@[{target.pid}, step_two]" in proc.stdout and f"@[{target.pid}, step_three]" in proc.stdout
        assert str(other.pid) not in proc.stdout
    finally:
        for p in (target, other):
            p.kill()
            p.wait()


def test_the_program_limit_counts_one_program_per_shared_wildcard(progdir, monkeypatch):
    monkeypatch.setenv("BPFTRACE_MAX_BPF_PROGS", "2")
    text = f"uprobe:{progdir}/steps:step_* {{ @[func] = count(); }} BEGIN {{ exit(); }}"
    assert len(compile_program(text, uprobe_multi=True).probes) == 2
    with pytest.raises(ProgramError, match="more than 4 BPF programs, which exceeds the current limit of 2"):
        compile_program(text, uprobe_multi=False)


def test_info_reports_uprobe_multi_as_the_kernel_has_it():
    proc = subprocess.run([sys.executable, "-m", "purebpf", "trace", "--info"], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    expected = "yes" if features.has_attach_kind("uprobe_multi") else "no"
    assert f"  uprobe_multi: {expected}\n" in proc.stdout
