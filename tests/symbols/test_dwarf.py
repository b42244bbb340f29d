"""purebpf.symbols.dwarf on programs compiled here with -g: parameters and their C types, structs,
the line table, inlined calls, and debug files found through .gnu_debuglink."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from purebpf.symbols.dwarf import debug_info

SOURCE = r"""
struct Pair { int a; char name[8]; long vals[3]; unsigned flag : 3; };
struct Node { struct Node *next; struct Pair pair; };
__attribute__((noinline)) int take(int *n, char c, const char *s, struct Node *node) {
  return *n + c + s[0] + node->pair.a;
}
static inline __attribute__((always_inline)) int twice(int x) {
  volatile int y = x;
  return y * 2;
}
__attribute__((noinline)) int outer(int x) {
  return twice(x) + 1;
}
int main(int argc, char **argv) {
  struct Node node = { 0, { 1, "x", { 1, 2, 3 }, 1 } };
  int n = 3;
  (void)argv;
  return take(&n, 'c', "s", &node) + outer(argc);
}
"""

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the test program")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("dwarf")
    (d / "prog.c").write_text(SOURCE)
    subprocess.run(["gcc", "-g", "-O1", "-fno-inline-small-functions", "-o", "prog", "prog.c"], cwd=d, check=True)
    return d


def test_parameters_and_type_names(built):
    info = debug_info(str(built / "prog"))
    assert info is not None
    take = info.functions["take"]
    assert [(p.name, info.type_name(p.type)) for p in take.params] == [
        ("n", "int*"), ("c", "char"), ("s", "const char*"), ("node", "struct Node*")]
    assert [(p.name, info.type_name(p.type)) for p in info.functions["main"].params] == [
        ("argc", "int"), ("argv", "char**")]


def test_struct_layout_with_arrays_and_bitfield(built):
    info = debug_info(str(built / "prog"))
    pair = info.types[info.struct("Pair")]
    fields = {f.name: f for f in pair.members}
    assert (fields["a"].offset, fields["name"].offset, fields["vals"].offset) == (0, 4, 16)
    assert info.resolve(fields["vals"].type).count == 3
    assert fields["flag"].bit_size == 3
    node = info.types[info.struct("struct Node")]
    assert info.type_name(node.members[0].type) == "struct Node*"


def test_line_table_gives_the_function_entry(built):
    info = debug_info(str(built / "prog"))
    line = 1 + SOURCE.splitlines().index("__attribute__((noinline)) int take(int *n, char c, const char *s, "
                                     "struct Node *node) {")
    assert info.functions["take"].address in info.line_addresses("prog.c", line)
    assert info.line_addresses("prog.c", 10_000) == []
    assert info.source_line(info.functions["take"].address)[1] in (line, line + 1)  # the body may share it


def test_inlined_call_frames(built):
    info = debug_info(str(built / "prog"))
    ranges = [r for r in info.inlines if r[3] == "twice"]
    assert ranges, "gcc inlined twice() into outer()"
    frames = info.frames(ranges[0][0])
    assert frames[0].func == "twice" and frames[-1].func is None
    assert frames[-1].line == 1 + SOURCE.splitlines().index("  return twice(x) + 1;")  # the call site


def test_debuglink_found_beside_in_dot_debug_and_in_extra_dirs(built, tmp_path):
    for where in (".debug", "elsewhere"):
        d = tmp_path / where.strip(".")
        d.mkdir()
        (d / where).mkdir()
        subprocess.run(["objcopy", "--only-keep-debug", str(built / "prog"), str(d / where / "prog.debug")],
                       check=True)
        subprocess.run(["objcopy", "--strip-debug", f"--add-gnu-debuglink={d / where / 'prog.debug'}",
                        str(built / "prog"), str(d / "prog")], check=True)
        if where == ".debug":
            info = debug_info(str(d / "prog"))
        else:
            assert debug_info(str(d / "prog")) is None
            info = debug_info(str(d / "prog"), (str(d / where),))
        assert info is not None and "take" in info.functions
        assert os.path.basename(info.path) == "prog.debug"


def test_no_debug_information(tmp_path):
    (tmp_path / "p.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(["gcc", "-O0", "-o", str(tmp_path / "p"), str(tmp_path / "p.c")], check=True)
    assert debug_info(str(tmp_path / "p")) is None
    assert debug_info(str(tmp_path / "missing")) is None
