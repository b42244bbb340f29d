"""``usdt:`` probes in ``purebpf trace``, on the suite's USDT programs (scripts/suite_programs/usdt_*)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.symbols.usdt_programs import build, start, stop
from tests.trace.test_runtime import stdout_without_banner

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the test programs' notes are x86_64's")
VALUES = "-579005069656919568 -579005069656919568 4092785136 -202182160 61936 -3600 240 -16"


@pytest.fixture(scope="module")
def progs(tmp_path_factory):
    return build(tmp_path_factory.mktemp("usdt"))


def run(progs, *args: str, tool: str = "ours") -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "purebpf", "trace"] if tool == "ours" else ["bpftrace"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=30, cwd=progs, env=env)


@pytest.mark.parametrize("kind", ["const", "reg", "addr", "index"])
def test_arguments_of_every_size_and_sign(progs, kind):
    program = f'usdt:./testprogs/usdt_args:usdt_args:{kind}_* {{ printf("%lld ", arg0); }}'
    out = run(progs, "-e", program, "-c", "./testprogs/usdt_args")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == (VALUES.split() if kind != "index" else VALUES.split()[:1])
    assert out.stderr.startswith("Attached 1 probe\n" if kind == "index" else "Attached 8 probes")


@pytest.mark.skipif(not shutil.which("bpftrace"), reason="bpftrace (the oracle) is not installed")
def test_register_and_memory_arguments_like_bpftrace(progs):
    program = 'usdt:./testprogs/usdt_args:usdt_args:reg_u32, usdt:./testprogs/usdt_args:usdt_args:addr_s16 ' \
              '{ printf("%s %d\\n", probe, arg0); }'
    ours, theirs = (run(progs, "-e", program, "-c", "./testprogs/usdt_args", tool=t) for t in ("ours", "bpftrace"))
    assert ours.returncode == 0, ours.stderr
    assert sorted(ours.stdout.split("\n")) == sorted(stdout_without_banner(theirs).split("\n"))


def test_sites_with_different_specs_are_read_by_their_cookie(progs):
    program = 'usdt:./testprogs/usdt_inlined:tracetest:testprobe { printf("%d\\n", arg1); @a += 1; ' \
              'if (@a >= 4) { exit(); } }'
    out = run(progs, "-e", program, "-c", "./testprogs/usdt_inlined")
    assert out.stdout.split()[:4] == ["999", "100", "999", "100"], out.stderr


def test_twelve_arguments(progs):
    fmt = " ".join(["%llx"] * 12)
    program = (f'usdt:./testprogs/usdt_multi_args:usdt_multi_args:probe1 {{ printf("{fmt}\\n", '
               + ", ".join(f"arg{i}" for i in range(12)) + "); exit(); }")
    out = run(progs, "-e", program, "-c", "./testprogs/usdt_multi_args")
    assert out.stdout.split("\n")[0] == ("deadbeef 1 ffffffffffffffff cafebabe 8badf00d feedface 123456789abcdef 0 "
                                         "7fffffffffffffff 5555555555555555 2a aaaaaaaaaaaaaaaa"), out.stderr


def test_semaphore_and_probe_builtin(progs):
    proc = start(progs / "testprogs" / "usdt_semaphore_test")
    try:
        program = 'usdt:./testprogs/usdt_semaphore_test:testprobe { printf("%s %s\\n", probe, str(arg1)); exit(); }'
        out = run(progs, "-e", program)
        assert out.stdout.split("\n")[0] == \
            "usdt:./testprogs/usdt_semaphore_test:tracetest:testprobe USDT semaphore: 1", out.stderr
    finally:
        stop(proc)


def test_wildcards_and_pid(progs):
    proc = start(progs / "testprogs" / "usdt_lib")
    try:
        time.sleep(0.2)
        out = run(progs, "-e", 'usdt:::lib_probe_* { printf("%s\\n", probe); exit(); }', "-p", str(proc.pid))
        lib = os.path.realpath(progs / "testlibs" / "libusdt_tp.so")
        assert out.stdout.split("\n")[0] == f"usdt:{lib}:tracetestlib:lib_probe_1", out.stderr
        listed = run(progs, "-l", "usdt:*", "-p", str(proc.pid)).stdout.split()
        assert listed == [f"usdt:{lib}:tracetestlib:lib_probe_1"]
    finally:
        stop(proc)
    out = run(progs, "-e", 'usdt:./testprogs/usdt_multiple_locations:tracetest:testprobe* { exit(); }',
              "-c", "./testprogs/usdt_multiple_locations")
    assert out.stderr.startswith("Attached 3 probes"), out.stderr


def test_pid_expands_over_the_files_the_process_maps(progs):
    """With -p, an empty or wildcard path means every file the process maps (its executable first)."""
    proc = start(progs / "testprogs" / "usdt_test")
    try:
        time.sleep(0.2)
        exe = os.path.realpath(progs / "testprogs" / "usdt_test")
        mine = [f"usdt:{exe}:{p}" for p in ("tracetest2:testprobe2", "tracetest:testprobe", "tracetest:testprobe2")]
        everything = run(progs, "-l", "-p", str(proc.pid)).stdout.splitlines()
        assert [line for line in everything if line.startswith(f"usdt:{exe}:")] == mine
        assert f"uprobe:{exe}:main" in everything
        assert run(progs, "-l", "usdt:*:tracetest:test*", "-p", str(proc.pid)).stdout.splitlines() == mine[1:]
        for program, probes in [("usdt::tracetest:testprobe", 1), ("usdt:*:tracetest:testprobe", 1),
                                ("usdt:::*probe2", 2)]:
            out = run(progs, "-e", program + ' { printf("%s %d\\n", probe, arg0); exit(); }', "-p", str(proc.pid))
            assert out.returncode == 0 and out.stderr.startswith(f"Attached {probes} probe"), out.stderr
            name, seconds = out.stdout.split("\n")[0].split()
            assert name in mine and abs(int(seconds) - time.time()) < 5
    finally:
        stop(proc)


def test_wildcard_file_names_each_match(progs):
    """usdt_test* is usdt_test and its PIE twin usdt_test-pie (as bpftrace builds them): 3 probes each."""
    out = run(progs, "-e", 'usdt:./testprogs/usdt_test*::* { @[probe] = count(); exit(); }',
              "-c", "./testprogs/usdt_test")
    assert out.returncode == 0 and out.stderr.startswith("Attached 6 probes"), out.stderr
    assert "@[usdt:./testprogs/usdt_test:tracetest:testprobe]: 1" in out.stdout


@pytest.mark.parametrize("mode, frames", [
    ("bpftrace", [r"\[inlined\] myclock@\S+usdt_inlined\.c:\d+", r"\[inlined\] mywrapper_inlined@\S+\.c:\d+",
                  r"mywrapper\+\d+@\S+\.c:\d+", r"loop\+\d+@\S+\.c:\d+"]),
    ("perf", [r"[0-9a-f]+ myclock \(inlined\)", r"[0-9a-f]+ mywrapper_inlined \(inlined\)",
              r"[0-9a-f]+ mywrapper\+\d+ \(\S+usdt_inlined\)", r"[0-9a-f]+ loop\+\d+ \(\S+usdt_inlined\)"]),
])
def test_ustack_shows_inlined_frames(progs, mode, frames):
    """The 100 site: myclock inlined into mywrapper_inlined inlined into mywrapper; ustack(2) is two addresses,
    the first of them three frames."""
    program = ('config = { show_debug_info=1 } usdt:./testprogs/usdt_inlined:tracetest:testprobe '
               '{ if (arg1 == 100) { printf("%s\\n", ustack(2)); exit(); } }')
    out = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-e", program, "-c", "./testprogs/usdt_inlined"],
                         capture_output=True, text=True, timeout=30, cwd=progs,
                         env=dict(os.environ, PYTHONPATH=os.getcwd(), BPFTRACE_STACK_MODE=mode))
    assert out.returncode == 0, out.stderr
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 4, out.stdout
    for line, frame in zip(lines, frames, strict=True):
        assert re.fullmatch(frame, line), (line, frame)


def test_listing_by_file(progs):
    out = run(progs, "-l", "usdt:./testprogs/usdt_test:*")
    assert out.stdout.split() == ["usdt:./testprogs/usdt_test:tracetest2:testprobe2",
                                  "usdt:./testprogs/usdt_test:tracetest:testprobe",
                                  "usdt:./testprogs/usdt_test:tracetest:testprobe2"]
    assert run(progs, "-l", "*:./testprogs/usdt_test:tracetest2:*").stdout.split() == \
        ["usdt:./testprogs/usdt_test:tracetest2:testprobe2"]
    if shutil.which("bpftrace"):
        theirs = run(progs, "-l", "usdt:./testprogs/usdt_test:*", tool="bpftrace").stdout.split()
        assert sorted(theirs) == sorted(out.stdout.split())


@pytest.mark.parametrize("program, message", [
    ("usdt:./testprogs/nope:a:b { }", "usdt target file ./testprogs/nope does not exist"),
    ("usdt:./testprogs/usdt_test:tracetest:nope { }", "No probes matched: usdt:./testprogs/usdt_test:tracetest:nope"),
    ("usdt:./testprogs/usdt_test:testprobe2 { }", "usdt probe testprobe2 in ./testprogs/usdt_test is ambiguous"),
    ("usdt:./testprogs/usdt_test:tracetest:testprobe { print(arg2); }", "arg2 is out of range"),
    ("usdt::tracetest:testprobe { }", "usdt probes need a binary path"),
])
def test_bad_input(progs, program, message):
    out = run(progs, "-e", program)
    assert out.returncode == 1 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
