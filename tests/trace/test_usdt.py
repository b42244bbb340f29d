"""``usdt:`` probes in ``purebpf trace``, on the suite's USDT programs (scripts/suite_programs/usdt_*)."""

from __future__ import annotations

import os
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
