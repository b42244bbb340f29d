"""DWARF in ``purebpf trace``: uprobe parameters by name (``args.NAME``, ``args`` as a record),
DWARF structs in casts, ``-lv`` listing, ``uprobe:BIN@FILE.c:LINE``, ``--debuginfo`` and ustack's
file:line frames, on a program compiled with -g here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from purebpf.trace.compiler import compile_program

PROGRAM = r"""
#include <time.h>
struct Item { int id; char label[8]; int vals[3]; };
__attribute__((noinline)) int visit(int *n, char c, struct Item *item) {  /* line 4: visit's entry */
  return *n + c + item->id;
}
int main(int argc, char **argv) {
  struct Item item = { 42, "hello", { 1, 2, 3 } };
  int n = 7;
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  (void)argv;
  for (int i = 0; i < (argc > 1 ? 500 : 1); i++) {
    visit(&n, 'x', &item);
    nanosleep(&pause, 0);
  }
  return 0;
}
"""
VISIT_LINE = 4

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the test program")


@pytest.fixture(scope="module")
def progdir(tmp_path_factory) -> str:
    """``dwprog`` built with -g, and ``dwprog-stripped`` whose DWARF is in ``dbg/`` (named by its debuglink)."""
    d = tmp_path_factory.mktemp("dwarf")
    (d / "dwprog.c").write_text(PROGRAM)
    subprocess.run(["gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-o", "dwprog", "dwprog.c"], cwd=d, check=True)
    (d / "dbg").mkdir()
    subprocess.run(["objcopy", "--only-keep-debug", "dwprog", "dbg/dwprog-stripped.debug"], cwd=d, check=True)
    subprocess.run(["objcopy", "--strip-debug", "--add-gnu-debuglink=dbg/dwprog-stripped.debug", "dwprog",
                    "dwprog-stripped"], cwd=d, check=True)
    return str(d)


def trace(cwd: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purebpf", "trace", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd(), **(env or {})))


def test_list_parameters(progdir):
    proc = trace(progdir, "-lv", "uprobe:./dwprog:visit")
    assert proc.stdout.splitlines() == ["uprobe:./dwprog:visit", "    int* n", "    char c", "    struct Item* item"]
    proc = trace(progdir, "-lv", "uprobe:./dwprog:main")
    assert "    int argc" in proc.stdout.splitlines() and "    char** argv" in proc.stdout.splitlines()


def test_list_parameters_from_a_separate_debug_file(progdir):
    assert trace(progdir, "-lv", "uprobe:./dwprog-stripped:visit").stdout.splitlines() == \
        ["uprobe:./dwprog-stripped:visit"]
    proc = trace(progdir, "-lv", "uprobe:./dwprog-stripped:visit", "--debuginfo=/nonexistent", "--debuginfo", "dbg")
    assert "    struct Item* item" in proc.stdout.splitlines()


def test_arguments_by_name_and_struct_members(progdir):
    prog = ('uprobe:./dwprog:visit { printf("%c %d %d %s\\n", args.c, *(args.n), args.item->id, args.item.label); '
            'print(args.item.vals); printf("%d\\n", ((struct Item *)arg2)->id); exit(); }')
    proc = trace(progdir, "-e", prog, "-c", "./dwprog")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:3] == ["x 7 42 hello", "[1,2,3]", "42"]


def test_args_is_a_record(progdir):
    prog = 'uprobe:./dwprog:visit { print(args); @[args] = 1; @v = args; print(@v.c); exit(); }'
    proc = trace(progdir, "-e", prog, "-c", "./dwprog")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"\{ \.n = 0x[0-9a-f]+, \.c = 120, \.item = 0x[0-9a-f]+ \}", lines[0])
    assert lines[1] == "120"
    assert re.search(r"^@\[\{ \.n = 0x[0-9a-f]+, \.c = 120, \.item = 0x[0-9a-f]+ \}\]: 1$", proc.stdout, re.M)


def test_program_struct_overrides_dwarf(progdir):
    program = compile_program(f"struct Item {{ char first; }} uprobe:{progdir}/dwprog:visit "
                              "{ @ = ((struct Item *)arg2)->first; }")
    assert program.probes
    with pytest.raises(Exception, match="does not contain a field named 'id'"):
        compile_program(f"struct Item {{ char first; }} uprobe:{progdir}/dwprog:visit "
                        "{ @ = ((struct Item *)arg2)->id; }")


def test_unknown_parameter_is_reported(progdir):
    with pytest.raises(Exception, match=r"Can't find function parameter nope \(parameters: n, c, item\)"):
        compile_program(f"uprobe:{progdir}/dwprog:visit {{ @ = args.nope; }}")


def test_attach_to_a_source_line(progdir):
    prog = (f'uprobe:./dwprog@dwprog.c:{VISIT_LINE} {{ @a = reg("ip"); }} '
            'uprobe:./dwprog:visit { if (@a == reg("pc")) { printf("same %d\\n", args.c); exit(); } }')
    proc = trace(progdir, "-e", prog, "-c", "./dwprog 1")
    assert proc.returncode == 0, proc.stderr
    assert "Attached 2 probes" in proc.stderr
    assert "same 120" in proc.stdout


def test_source_line_through_debuglink_and_errors(progdir):
    proc = trace(progdir, "-e", f'uprobe:./dwprog-stripped@dwprog.c:{VISIT_LINE} {{ print("ok"); exit(); }}',
                 "--debuginfo=dbg", "-c", "./dwprog-stripped")
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
    proc = trace(progdir, "-e", 'uprobe:./dwprog@dwprog.c:1000 { exit(); }')
    assert proc.returncode == 1 and "No code at dwprog.c:1000" in proc.stderr


def test_ustack_shows_file_and_line_unless_switched_off(progdir):
    prog = 'uprobe:./dwprog:visit { printf("%s\\n", ustack(2)); exit(); }'
    proc = trace(progdir, "-e", prog, "-c", "./dwprog 1", env={"BPFTRACE_STACK_MODE": "bpftrace"})
    assert proc.returncode == 0, proc.stderr
    frames = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    assert re.fullmatch(rf"visit\+0@.*/dwprog\.c:{VISIT_LINE}", frames[0]), frames
    assert re.fullmatch(r"main\+\d+@.*/dwprog\.c:13", frames[1]), frames
    proc = trace(progdir, "-e", "config = { show_debug_info=0 } " + prog, "-c", "./dwprog 1")
    assert [line.strip() for line in proc.stdout.splitlines() if line.strip()][0] == "visit+0"
