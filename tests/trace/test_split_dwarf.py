"""``purebpf trace`` on programs built with split DWARF (gcc -gsplit-dwarf): uprobe parameters by name
and ``-lv`` listing through a ``.dwo`` file and a ``.dwp`` package, and the error for ``args`` on a
program without debug information."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from purebpf.trace.compiler import compile_program

PROGRAM = r"""
struct Item { int id; char label[8]; };
__attribute__((noinline)) int visit(int *n, char c, struct Item *item) {
  return *n + c + item->id;
}
int main(void) {
  struct Item item = { 42, "hello" };
  int n = 7;
  return visit(&n, 'x', &item) == 0;
}
"""

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the test programs")


@pytest.fixture(scope="module")
def progdir(tmp_path_factory) -> str:
    """``dwo/prog`` with its DIEs in ``prog.dwo`` (DWARF 5), ``dwp/prog`` with them in ``prog.dwp``
    (DWARF 4, when GNU dwp is installed), and ``nodebug`` built without -g."""
    d = tmp_path_factory.mktemp("split")
    (d / "prog.c").write_text(PROGRAM)
    for sub, flags in (("dwo", ["-gdwarf-5"]), ("dwp", ["-gdwarf-4"])):
        (d / sub).mkdir()
        subprocess.run(["gcc", "-O0", "-gsplit-dwarf", *flags, "-o", "prog", "../prog.c"], cwd=d / sub, check=True)
    if shutil.which("dwp"):
        subprocess.run(["dwp", "-e", "prog", "-o", "prog.dwp"], cwd=d / "dwp", check=True)
        os.unlink(d / "dwp" / "prog.dwo")
    subprocess.run(["gcc", "-O0", "-o", "nodebug", "prog.c"], cwd=d, check=True)
    return str(d)


def trace(cwd: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purebpf", "trace", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))


def test_argument_by_name_through_a_dwo(progdir):
    assert os.path.exists(os.path.join(progdir, "dwo", "prog.dwo"))
    prog = 'uprobe:./prog:visit { printf("%c %d %d %s\\n", args.c, *args.n, args.item->id, args.item->label); exit(); }'
    proc = trace(os.path.join(progdir, "dwo"), "-e", prog, "-c", "./prog")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "x 7 42 hello"


def test_list_parameters_from_a_dwp(progdir):
    if not os.path.exists(os.path.join(progdir, "dwp", "prog.dwp")):
        pytest.skip("GNU dwp is needed to pack the .dwo file")
    proc = trace(os.path.join(progdir, "dwp"), "-lv", "uprobe:./prog:visit")
    assert proc.stdout.splitlines() == ["uprobe:./prog:visit", "    int* n", "    char c", "    struct Item* item"]


def test_args_without_debug_information_says_what_is_missing(progdir):
    binary = os.path.join(progdir, "nodebug")
    with pytest.raises(Exception, match=f"{binary} has no debug information \\(DWARF\\) for args: build it with -g"):
        compile_program(f"uprobe:{binary}:visit {{ @ = args.c; }}")
    with pytest.raises(Exception, match="The debug information \\(DWARF\\) of .*/dwo/prog does not describe _start"):
        compile_program(f"uprobe:{progdir}/dwo/prog:_start {{ @ = args.c; }}")  # _start: from crt1.o, no DWARF
