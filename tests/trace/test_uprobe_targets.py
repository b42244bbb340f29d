"""uprobe targets in ``purebpf trace``: wildcards in the function and the file, ``-p``'s mappings,
listing, and a function that is not there (bpftrace's messages and ``missing_probes``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

PROGRAM = r"""
#include <time.h>
__attribute__((noinline)) int alpha1(int x) { return x + 1; }
__attribute__((noinline)) int alpha2(int x) { return x + 2; }
__attribute__((noinline)) int beta(int x) { return x + 3; }
int data_symbol = 7;
int main(int argc, char **argv) {
  struct timespec pause = { 0, 20 * 1000 * 1000 };
  int n = argc > 1 ? 250 : 1;   /* with an argument: keep calling for 5 s */
  for (int i = 0; i < n; i++) {
    alpha1(i); alpha2(i); beta(i);
    if (n > 1) nanosleep(&pause, 0);
  }
  return 0;
}
"""


@pytest.fixture(scope="module")
def progdir(tmp_path_factory) -> str:
    """A folder holding ``utarget`` (built from PROGRAM); tests run there to name it ``./utarget``."""
    d = tmp_path_factory.mktemp("uprobes")
    (d / "utarget.c").write_text(PROGRAM)
    subprocess.run(["gcc", "-O0", "-o", str(d / "utarget"), str(d / "utarget.c")], check=True)
    return str(d)


def trace(cwd: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purebpf", "trace", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))


def test_wildcard_function_attaches_each_match_and_keeps_the_path_as_written(progdir):
    proc = trace(progdir, "-e", "uprobe:./utarget:alpha* { @[probe] = count(); }", "-c", "./utarget")
    assert proc.returncode == 0, proc.stderr
    assert "Attached 2 probes" in proc.stderr
    assert "@[uprobe:./utarget:alpha1]: 1" in proc.stdout
    assert "@[uprobe:./utarget:alpha2]: 1" in proc.stdout
    assert "beta" not in proc.stdout


def test_wildcard_file_and_pid_wildcard_find_the_process_functions(progdir):
    target = subprocess.Popen(["./utarget", "loop"], cwd=progdir)
    try:
        time.sleep(0.2)
        proc = trace(progdir, "-e", "uprobe:*:beta { printf(\"%s\\n\", probe); exit(); }", "-p", str(target.pid))
        assert proc.returncode == 0, proc.stderr
        assert "Attached 1 probe" in proc.stderr
        assert f"uprobe:{progdir}/utarget:beta" in proc.stdout
        listed = trace(progdir, "-l", "uprobe:*", "-p", str(target.pid)).stdout.splitlines()
        assert f"uprobe:{progdir}/utarget:alpha1" in listed
        assert any(line.startswith("uprobe:") and "libc" in line for line in listed)
        listed = trace(progdir, "-l", "-e", "uretprobe:*:alpha? { exit(); }", "-p", str(target.pid)).stdout
        assert listed.splitlines() == [f"uretprobe:{progdir}/utarget:alpha1", f"uretprobe:{progdir}/utarget:alpha2"]
        nothing = trace(progdir, "-l", "-e", "uretprobe:*:nomatch* { exit(); }", "-p", str(target.pid))
        assert nothing.returncode == 0 and nothing.stdout == ""  # not the pattern itself
        imported = trace(progdir, "-l", "uprobe:*:nanosleep", "-p", str(target.pid)).stdout.splitlines()
        assert len(imported) == 1 and "libc" in imported[0]  # where it is defined, not utarget that imports it
    finally:
        target.kill()
        target.wait()


@pytest.mark.parametrize("search, expected", [
    ("uprobe:./utarget:alpha*", ["uprobe:./utarget:alpha1", "uprobe:./utarget:alpha2"]),
    ("uprobe:./utar*:beta", ["uprobe:./utarget:beta"]),
    ("*:./utarget:beta", ["uprobe:./utarget:beta", "uretprobe:./utarget:beta"]),
])
def test_listing_globs_keep_the_spelling(progdir, search, expected):
    proc = trace(progdir, "-l", search)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected


def test_listing_shows_code_symbols_only(progdir):
    listed = trace(progdir, "-l", "uprobe:./utarget:*").stdout.splitlines()
    assert "uprobe:./utarget:main" in listed
    assert not any(line.endswith((":data_symbol", ":_edata", ":__bss_start")) for line in listed)


def test_missing_function_is_an_error_or_a_warning_as_configured(progdir):
    program = "uprobe:./utarget:alpha1,uprobe:./utarget:gamma { exit(); }"
    proc = trace(progdir, "-e", program)
    assert proc.returncode != 0
    assert "ERROR: No matches for uprobe ./utarget:gamma." in proc.stderr
    proc = trace(progdir, "-e", 'config = { missing_probes = "warn" } ' + program, "-c", "./utarget")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: No matches for uprobe ./utarget:gamma. Skipping." in proc.stderr
    assert "Attached 1 probe" in proc.stderr


def test_wildcard_matching_nothing_is_reported(progdir):
    proc = trace(progdir, "-e", "uprobe:./utarget:nothing* { exit(); }")
    assert proc.returncode != 0
    assert "No matches for uprobe ./utarget:nothing*." in proc.stderr


def test_symbol_without_size_needs_unsafe(progdir):
    proc = trace(progdir, "-e", "uprobe:./utarget:_init { exit(); }")
    assert proc.returncode != 0
    assert ("ERROR: Could not determine boundary for _init (symbol has size 0).\n"
            "Use --unsafe to force attachment.") in proc.stderr
    proc = trace(progdir, "--unsafe", "-e", "uprobe:./utarget:_init { printf(\"hit\\n\"); exit(); }",
                 "-c", "./utarget")
    assert proc.returncode == 0, proc.stderr
    assert "hit" in proc.stdout


STACK = "uprobe:./utarget:alpha1 { printf(\"%s\", ustack(2)); exit(); }"


@pytest.mark.parametrize("config, env, frame", [
    ("", "raw", r"^[0-9a-f]+$"),
    ("config = { stack_mode=raw } ", None, r"^[0-9a-f]+$"),
    ("config = { BPFTRACE_STACK_MODE=perf } ", None, r"^ {8}[0-9a-f]+ alpha1\+0 \(.*/utarget\)$"),
    ("config = { stack_mode=perf } ", "raw", r"^[0-9a-f]+$"),  # the environment wins
    ("", "build_id", r"^[0-9a-f]{40} 0x[0-9a-f]+$"),
    ("", None, r"^ {8}alpha1\+0$"),
])
def test_stack_mode_from_config_and_environment(progdir, config, env, frame):
    """(the traced process keeps running: its frames are named from its mappings while it lives)"""
    import re

    environ = dict(os.environ, PYTHONPATH=os.getcwd())
    environ.pop("BPFTRACE_STACK_MODE", None)
    if env:
        environ["BPFTRACE_STACK_MODE"] = env
    proc = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-e", config + STACK, "-c", "./utarget loop"],
                          cwd=progdir, capture_output=True, text=True, timeout=60, env=environ)
    assert proc.returncode == 0, proc.stderr
    frames = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(frames) == 2
    assert re.match(frame, frames[0]), proc.stdout
