"""C rendering: the whole vmlinux.h compiles, CO-RE programs build on it, and clang lays every
struct out exactly as BTF says (checked with static asserts and against bpftool's header)."""

from __future__ import annotations

import collections
import subprocess
from pathlib import Path

import pytest

from purebpf.btf import BTF, BTFBuilder, Kind, render_c
from purebpf.btf.types import Composite

HERE = Path(__file__).parent
VMLINUX = "/sys/kernel/btf/vmlinux"


@pytest.fixture
def clang(clang_exe):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([clang_exe, *args], capture_output=True, text=True)
    return run


def test_header_shape(vmlinux_h):
    text = vmlinux_h.read_text()
    assert text.startswith("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n")
    assert "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)" in text
    assert text.rstrip().endswith("#endif /* __VMLINUX_H__ */")
    assert "\nstruct task_struct {\n" in text and "__attribute__((packed))" in text


def test_whole_header_compiles_cleanly(clang, vmlinux_h):
    done = clang("-target", "bpf", "-fsyntax-only", "-Werror", "-x", "c", str(vmlinux_h))
    assert done.returncode == 0, done.stderr[-3000:]


def test_core_program_builds(clang, vmlinux_h, tmp_path):
    obj = tmp_path / "core_prog.bpf.o"
    done = clang("-O2", "-g", "-target", "bpf", "-I", str(vmlinux_h.parent), "-c", str(HERE / "core_prog.bpf.c"),
                 "-o", str(obj))
    assert done.returncode == 0, done.stderr[-3000:]
    from elftools.elf.elffile import ELFFile
    with open(obj, "rb") as f:
        sections = {s.name for s in ELFFile(f).iter_sections()}
    assert {".BTF", ".BTF.ext"} <= sections  # .BTF.ext carries the CO-RE relocations
    prog_btf = BTF.from_file(str(obj))  # our reader on clang's BTF
    task = prog_btf.struct("task_struct")
    assert {m.name for m in task.members} >= {"real_parent", "tgid"}
    assert prog_btf.find("on_exec", Kind.FUNC)


def _layout_asserts(btf: BTF, include: str, skip_va_list: bool) -> str:
    """Static asserts of every uniquely named struct/union/enum's size and member offsets."""
    names = collections.Counter(btf.name_of(i) for i in btf.ids()
                                if btf.kind_of(i) in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64))
    va_list = set(btf.find_ids("__builtin_va_list", Kind.TYPEDEF))
    lines = [f'#include "{include}"', "#define CHECK(c) _Static_assert(c, #c)"]
    for tid in btf.ids():
        kind = btf.kind_of(tid)
        if kind not in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64):
            continue
        t = btf.type_by_id(tid)
        if not t.name or names[t.name] != 1:
            continue
        if not isinstance(t, Composite):
            if t.values:
                lines.append(f"CHECK(sizeof(enum {t.name}) == {t.size});")
            continue
        if skip_va_list and _mentions(btf, t, va_list):
            continue  # clang's own va_list for -target bpf is a void *, not x86's 24 bytes
        tag = "struct" if kind == Kind.STRUCT else "union"
        lines.append(f"CHECK(sizeof({tag} {t.name}) == {t.size});")
        lines.extend(f"CHECK(__builtin_offsetof({tag} {t.name}, {m.name}) == {m.bit_offset // 8});"
                     for m in t.members if m.name and not m.bitfield_size)
    return "\n".join(lines) + "\n"


def _mentions(btf: BTF, t: Composite, targets: set[int], depth: int = 0) -> bool:
    for m in t.members:
        mt = btf.type_by_id(m.type)
        while mt.kind in (Kind.TYPEDEF, Kind.ARRAY, Kind.CONST, Kind.VOLATILE) and mt.id not in targets:
            mt = btf.type_by_id(mt.type)
        if mt.id in targets or (isinstance(mt, Composite) and depth < 8 and _mentions(btf, mt, targets, depth + 1)):
            return True
    return False


@pytest.mark.parametrize("target", ["bpf", "x86_64"])
def test_every_struct_layout_matches_btf(clang, kernel_btf, vmlinux_h, tmp_path, target):
    import platform
    if target != "bpf" and platform.machine() != target:
        pytest.skip("the host-target check needs the BTF's own architecture")
    src = tmp_path / "layout.c"
    src.write_text(_layout_asserts(kernel_btf, str(vmlinux_h), skip_va_list=target == "bpf"))
    done = clang("-target", target, "-DBPF_NO_PRESERVE_ACCESS_INDEX", "-fsyntax-only", str(src))
    failures = [line for line in done.stderr.splitlines() if "error:" in line]
    assert not failures, "\n".join(failures[:20])


def _offsets_blob(clang, header: Path, members: list[str], tmp: Path, tag: str) -> bytes:
    """Compile ``offsetof`` of ``members`` of task_struct against ``header`` and read the numbers back."""
    src = tmp / f"offsets_{tag}.c"
    body = ", ".join(f"__builtin_offsetof(struct task_struct, {m})" for m in members)
    src.write_text(f'#include "{header}"\nunsigned long offsets[] = {{ sizeof(struct task_struct), {body} }};\n')
    obj = tmp / f"offsets_{tag}.o"
    done = clang("-target", "bpf", "-c", str(src), "-o", str(obj))
    assert done.returncode == 0, done.stderr[-2000:]
    from elftools.elf.elffile import ELFFile
    with open(obj, "rb") as f:
        return ELFFile(f).get_section_by_name(".data").data()


def test_task_struct_layout_matches_bpftool_header(clang, bpftool_exe, kernel_btf, vmlinux_h, tmp_path):
    bpftool = bpftool_exe
    theirs = tmp_path / "vmlinux_bpftool.h"
    with open(theirs, "w") as f:
        subprocess.run([bpftool, "btf", "dump", "file", VMLINUX, "format", "c"], stdout=f, check=True)
    task = kernel_btf.struct("task_struct")
    members = _named_members(kernel_btf, task)
    assert "pid" in members and "real_parent" in members and len(members) > 100
    ours = _offsets_blob(clang, vmlinux_h, members, tmp_path, "ours")
    assert ours == _offsets_blob(clang, theirs, members, tmp_path, "bpftool")


def _named_members(btf: BTF, t: Composite) -> list[str]:
    """Non-bitfield member names reachable from ``t`` directly or through anonymous members."""
    out = []
    for m in t.members:
        if m.name and not m.bitfield_size:
            out.append(m.name)
        elif not m.name:
            inner = btf.resolve(m.type)
            if isinstance(inner, Composite):
                out.extend(_named_members(btf, inner))
    return out


def test_single_type_with_dependencies_compiles(clang, kernel_btf, tmp_path):
    text = render_c(kernel_btf, [kernel_btf.struct("task_struct")])
    assert "__VMLINUX_H__" not in text and "\nstruct task_struct {\n" in text
    assert "struct mm_struct;\n" in text  # reached through a pointer only: declared, not defined
    src = tmp_path / "one.c"
    src.write_text(text + f"_Static_assert(sizeof(struct task_struct) == {kernel_btf.sizeof('task_struct')}, \"\");\n")
    done = clang("-target", "bpf", "-fsyntax-only", "-Werror", str(src))
    assert done.returncode == 0, done.stderr[-2000:]


def test_tricky_layouts_compile_to_their_btf(clang, tmp_path):
    """Packed, cache-line padded and bitfield structs, odd-sized enums, aligned unions, declarators."""
    b = BTFBuilder()
    u8 = b.add_int("unsigned char", 1)
    u32 = b.add_int("unsigned int", 4)
    i32 = b.add_int("int", 4, signed=True)
    u64 = b.add_int("long long unsigned int", 8)
    packed = b.add_struct("packed_s", [("a", u8, 0), ("b", u64, 8), ("c", u32, 72)], size=13)
    padded = b.add_struct("padded_s", [("a", u32, 0), ("b", u64, 512)], size=128)
    bits = b.add_struct("bits_s", [("a", u32, 0, 3), ("b", u32, 3, 29), ("c", u8, 32), ("d", u64, 40, 20)], size=8)
    small_enum = b.add_enum("small_e", {"S0": 0, "S1": 1}, size=1)
    wide_enum = b.add_enum("wide_e", {"W0": 0, "W1": 1}, size=8)
    aligned_union = b.add_union("aligned_u", [("x", u64, 0), ("y", u8, 0)], size=32)
    arr = b.add_array(i32, 4)
    ptr_arr = b.add_ptr(arr)
    proto = b.add_func_proto(i32, [("", u32)])
    fn_ptr = b.add_ptr(proto)
    proto2 = b.add_func_proto(fn_ptr, [("", u8)], variadic=True)
    fn_ptr2 = b.add_ptr(proto2)
    const_ptr = b.add_const(b.add_ptr(b.add_const(u8)))
    anon = b.add_union("", [("i", i32), ("u", u32)])
    holder = b.add_struct("holder_s", [("p", packed), ("e", small_enum), ("w", wide_enum), ("pa", ptr_arr),
                                       ("fp", fn_ptr2), ("cp", const_ptr), ("", anon), ("bits", bits),
                                       ("au", aligned_union)])
    btf = b.to_btf()
    text = render_c(btf)
    checks = []
    for tid in (packed, padded, bits, holder, aligned_union):
        t = btf.type_by_id(tid)
        tag = "struct" if t.kind == Kind.STRUCT else "union"
        checks.append(f"_Static_assert(sizeof({tag} {t.name}) == {t.size}, \"{t.name}\");")
        checks += [f"_Static_assert(__builtin_offsetof({tag} {t.name}, {m.name}) == {m.bit_offset // 8}, "
                   f"\"{t.name}.{m.name}\");" for m in t.members if m.name and not m.bitfield_size]
    checks.append("_Static_assert(sizeof(enum small_e) == 1, \"small\");")
    checks.append("_Static_assert(sizeof(enum wide_e) == 8, \"wide\");")
    checks.append("int f(struct holder_s *h) { return (*h->pa)[2] + h->fp(1, 2)(3) + *h->cp + h->i; }")
    src = tmp_path / "tricky.c"
    src.write_text(text + "\n".join(checks) + "\n")
    for target in ("bpf", "x86_64"):
        done = clang("-target", target, "-DBPF_NO_PRESERVE_ACCESS_INDEX", "-fsyntax-only", "-Werror", str(src))
        assert done.returncode == 0, f"{target}:\n{done.stderr[-3000:]}\n{text}"
    assert "int (*(*fp)(unsigned char, ...))(unsigned int);" in text
    assert "int (*pa)[4];" in text and "const unsigned char *const cp;" in text
