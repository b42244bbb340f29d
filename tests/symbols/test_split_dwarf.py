"""Split DWARF (gcc -gsplit-dwarf) in purebpf.symbols.dwarf: the types and parameters of a program whose
DIEs are in ``.dwo`` files (DWARF 5 and GNU DWARF 4, with and without type units) or packed by ``dwp``
into ``BINARY.dwp``, read the same as from the same program built with plain -g."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from purebpf.symbols.dwarf import DebugInfo, debug_info
from purebpf.symbols.split_dwarf import split_units

MAIN = r"""
struct Pair { int a; char name[8]; long vals[3]; unsigned flag : 3; };
struct Node { struct Node *next; struct Pair pair; };
union Num { int i; float f; };
enum Color { RED = -1, BLUE = 2 };
int take(int *n, char c, const char *s, struct Node *node);
int main(int argc, char **argv) {
  struct Node node = { 0, { 1, "x", { 1, 2, 3 }, 1 } };
  int n = 3;
  (void)argv;
  return take(&n, 'c', "s", &node) + argc;
}
"""
OTHER = r"""
struct Pair { int a; char name[8]; long vals[3]; unsigned flag : 3; };
struct Node { struct Node *next; struct Pair pair; };
union Num { int i; float f; };
enum Color { RED = -1, BLUE = 2 };
__attribute__((noinline)) int take(int *n, char c, const char *s, struct Node *node) {
  union Num num = { *n };
  enum Color color = BLUE;
  return num.i + c + s[0] + node->pair.a + color;
}
"""

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the test programs")


def build(d, name: str, *flags: str) -> str:
    """``name`` built from main.c and other.c in directory ``d`` (two units: two .dwo files when split)."""
    os.makedirs(d, exist_ok=True)
    for file, text in (("main.c", MAIN), ("other.c", OTHER)):
        with open(os.path.join(d, file), "w") as f:
            f.write(text)
    subprocess.run(["gcc", "-O0", *flags, "-o", name, "main.c", "other.c"], cwd=d, check=True)
    return os.path.join(d, name)


def summary(info: DebugInfo) -> list:
    """What the tracer reads, free of type ids: each struct's layout and each function's parameters."""
    out = []
    for key, type_id in sorted(info.structs.items()):
        t = info.types[type_id]
        out.append((key, t.size, [(m.name, m.offset, m.bit_offset, m.bit_size, info.type_name(m.type))
                                  for m in t.members]))
    out += [(name, [(p.name, info.type_name(p.type)) for p in f.params]) for name, f in sorted(info.functions.items())]
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list:
    d = tmp_path_factory.mktemp("plain")
    info = debug_info(build(d, "prog", "-g"))
    assert info is not None and info.functions["take"].params
    return summary(info)


@pytest.mark.parametrize("flags", [("-gdwarf-5",), ("-gdwarf-4",), ("-gdwarf-5", "-fdebug-types-section"),
                                   ("-gdwarf-4", "-fdebug-types-section")],
                         ids=["dwarf5", "dwarf4", "dwarf5-type-units", "dwarf4-type-units"])
def test_dwo_files_read_as_plain_dwarf(tmp_path, reference, flags):
    prog = build(tmp_path, "prog", "-gsplit-dwarf", *flags)
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".dwo")) == ["prog-main.dwo", "prog-other.dwo"]
    info = debug_info(prog)
    assert info is not None
    assert summary(info) == reference
    take = info.functions["take"]
    assert [(p.name, info.type_name(p.type)) for p in take.params] == [
        ("n", "int*"), ("c", "char"), ("s", "const char*"), ("node", "struct Node*")]
    assert info.line_addresses("other.c", 6)  # the line table stays in the binary (the skeleton's)
    if "-fdebug-types-section" in flags:  # the structs came through type units and signatures
        assert any(top.tag == "DW_TAG_type_unit" for top in split_units(str(tmp_path / "prog-other.dwo")))


@pytest.mark.parametrize("flags", [("-gdwarf-4",), ("-gdwarf-4", "-fdebug-types-section")],
                         ids=["dwarf4", "dwarf4-type-units"])
def test_dwp_package_beside_the_binary(tmp_path, reference, flags):
    if shutil.which("dwp") is None:
        pytest.skip("GNU dwp is needed to pack the .dwo files")
    prog = build(tmp_path, "prog", "-gsplit-dwarf", *flags)
    subprocess.run(["dwp", "-e", "prog", "-o", "prog.dwp"], cwd=tmp_path, check=True)
    for f in os.listdir(tmp_path):
        if f.endswith(".dwo"):
            os.unlink(tmp_path / f)
    assert len(split_units(prog + ".dwp")) >= 2  # both compile units (and any type units) by the index
    info = debug_info(prog)
    assert info is not None and summary(info) == reference


def test_dwarf5_package_from_llvm_dwp(tmp_path, reference):
    tool = shutil.which("llvm-dwp") or shutil.which("llvm-dwp-14")
    if tool is None:
        pytest.skip("llvm-dwp is needed to pack DWARF 5 .dwo files")
    prog = build(tmp_path, "prog", "-gsplit-dwarf", "-gdwarf-5", "-fdebug-types-section")
    subprocess.run([tool, "-e", "prog", "-o", "prog.dwp"], cwd=tmp_path, check=True)
    for f in os.listdir(tmp_path):
        if f.endswith(".dwo"):
            os.unlink(tmp_path / f)
    info = debug_info(prog)
    assert info is not None and summary(info) == reference


def test_dwo_found_beside_a_moved_binary(tmp_path, reference):
    build(tmp_path / "build", "prog", "-g", "-gsplit-dwarf")
    (tmp_path / "installed").mkdir()
    for f in ("prog", "prog-main.dwo", "prog-other.dwo"):  # the compilation directory no longer has them
        os.rename(tmp_path / "build" / f, tmp_path / "installed" / f)
    info = debug_info(str(tmp_path / "installed" / "prog"))
    assert info is not None and summary(info) == reference


def test_missing_or_broken_dwo_keeps_the_line_table(tmp_path):
    prog = build(tmp_path, "prog", "-g", "-gsplit-dwarf")
    os.unlink(tmp_path / "prog-other.dwo")
    with open(tmp_path / "prog-main.dwo", "rb") as f:
        section = ELFFile(f).get_section_by_name(".debug_info.dwo")
        start, size = section["sh_offset"], section["sh_size"]
    with open(tmp_path / "prog-main.dwo", "r+b") as f:  # its DIEs overwritten: abbreviation codes it lacks
        f.seek(start + 20)
        f.write(b"\x7f" * (size - 20))
    with pytest.raises(ValueError, match="malformed split DWARF"):
        split_units(str(tmp_path / "prog-main.dwo"))
    info = debug_info(prog)
    assert info is not None
    assert info.functions == {}
    assert info.line_addresses("other.c", 6)
    with pytest.raises(ValueError, match="not split DWARF"):
        split_units(prog)
