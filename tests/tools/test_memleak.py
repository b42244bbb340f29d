"""memleak finds the allocations a workload never frees, by stack, and not those it frees."""

from __future__ import annotations

import json
import re

from tests.tools.harness import Paused, one_line_error, run_purebpf, settle, start_purebpf

LEAKS, SIZE = 5, 3000


def test_command_leaks_by_stack(work):
    res = run_purebpf("memleak", "-c", f"{work} leak {LEAKS} {SIZE}")
    assert res.returncode == 0, res.stderr
    text = res.stdout
    assert re.match(r"Attaching to pid \d+, Ctrl\+C to quit\.\n\[\d\d:\d\d:\d\d\] Top 10 stacks with outstanding "
                    r"allocations:\n", text), text
    # the five malloc(3000) never freed, from main; the five malloc+free pairs leave nothing
    assert re.search(rf"\t{LEAKS * SIZE} bytes in {LEAKS} allocations from stack\n\t\t0x[0-9a-f]{{16}}\tmain\n",
                     text), text
    assert not re.search(rf"\t\d+ bytes in {2 * LEAKS} allocations", text)


def test_pid_json_and_size_filter(work):
    target = Paused(work, "leak", str(LEAKS), str(SIZE))
    big = start_purebpf("memleak", "-j", "-p", str(target.pid), "-o", "0")
    small = start_purebpf("memleak", "-j", "-p", str(target.pid), "-Z", str(SIZE - 1), "-o", "0")
    target.go()
    settle()
    records = [json.loads(x) for x in big.stop().splitlines()]
    mine = [r for r in records if r["stack"][:1] == ["main"]]
    assert [(r["bytes"], r["allocations"]) for r in mine] == [(LEAKS * SIZE, LEAKS)], records
    assert not [r for r in map(json.loads, small.stop().splitlines()) if r["stack"][:1] == ["main"]]


def test_kernel_allocations():
    res = run_purebpf("memleak", "-T", "3", "-o", "0", "1", "1")
    assert res.returncode == 0 and res.stdout.startswith("Attaching to kernel allocators, Ctrl+C to quit.\n")
    sizes = re.findall(r"^\t(\d+) bytes in (\d+) allocations from stack$", res.stdout, re.M)
    frames = re.findall(r"^\t\t0x(ffff[0-9a-f]{12})\t(\S+)$", res.stdout, re.M)
    assert 1 <= len(sizes) <= 3 and frames, res.stdout


def test_bad_input_is_one_line(work):
    one_line_error(run_purebpf("memleak", "-p", "1", "-c", work))
    one_line_error(run_purebpf("memleak", "-z", "10", "-Z", "5"))
    one_line_error(run_purebpf("memleak", "-p", "999999"))
