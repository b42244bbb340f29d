"""Reading objects without the kernel: programs, maps, global data, linking; and bad input."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

import purebpf
from purebpf.elf import read_object
from purebpf.elf.linker import OP_CALL
from purebpf.errors import InvalidInputError
from purebpf.sys import MapFlags, MapType, ProgType


def test_programs_maps_and_globals(bpf_objects):
    spec = read_object(bpf_objects["globals"])
    assert spec.name == "globals" and spec.license == "GPL"
    assert list(spec.programs) == ["count_getpid", "count_getppid"]
    assert spec.programs["count_getppid"].prog_type == ProgType.TRACEPOINT
    counts = spec.maps["counts"]
    assert (counts.type, counts.key_size, counts.value_size, counts.max_entries) == (MapType.HASH, 4, 8, 64)
    assert spec.btf.name_of(counts.btf_key_type_id) == "__u32"
    rodata = spec.maps["globals.rodata"]
    assert rodata.readonly and rodata.flags & MapFlags.RDONLY_PROG
    assert set(rodata.variables) == {"target_pid", "increment"}
    assert rodata.variables["increment"].offset == 8
    bss, data = spec.maps["globals.bss"], spec.maps["globals.data"]
    assert bss.data == bytes(16) and not bss.readonly
    assert struct.unpack("<I", data.data) == (7,)
    assert spec.maps[".data.extra"].variables["extra_counter"].size == 8


def test_subprograms_are_appended_per_program(bpf_objects):
    linked = read_object(bpf_objects["globals"]).link()
    main = linked["count_getpid"]
    assert [name for name, _ in main.functions] == ["count_getpid", "bump", "record_pid"]
    assert [name for name, _ in linked["count_getppid"].functions] == ["count_getppid", "bump"]
    starts = {name: at for name, at in main.functions}
    targets = []
    for i in range(main.insn_count):
        op, regs, _off, imm = struct.unpack_from("<BBhi", main.code, i * 8)
        if op == OP_CALL and regs >> 4 == 1:
            targets.append(i + imm + 1)
    assert sorted(set(targets)) == sorted([starts["bump"], starts["record_pid"]])
    # one func_info per function, at its first instruction; line info moved along
    assert [f.insn for f in main.func_info] == [0, starts["bump"], starts["record_pid"]]
    assert max(li.insn for li in main.line_info) >= starts["record_pid"]
    kinds = {(r.kind, r.target) for r in main.refs}
    assert ("map", "counts") in kinds and ("data", "globals.bss") in kinds and ("data", ".data.extra") in kinds


def test_prog_array_initial_values(bpf_objects):
    spec = read_object(bpf_objects["tailcall"])
    table = spec.maps["jump_table"]
    assert table.type == MapType.PROG_ARRAY and table.value_size == 4
    assert table.init_slots == {0: "tail_pass", 2: "tail_tx"}


def test_map_in_map_and_kconfig(bpf_objects):
    spec = read_object(bpf_objects["mapinmap"])
    outer = spec.maps["outer"]
    assert outer.type == MapType.ARRAY_OF_MAPS and outer.inner.type == MapType.ARRAY
    assert outer.init_slots == {0: "inner_a", 1: "inner_b"}
    layout = {e.name: (e.offset, e.size) for e in spec.kconfig}
    # libbpf's order: alignment descending, then size, then name
    assert layout == {"CONFIG_HZ": (0, 4), "LINUX_KERNEL_VERSION": (4, 4), "CONFIG_BPF_SYSCALL": (8, 1)}


def test_rodata_override_is_checked(bpf_objects):
    spec = read_object(bpf_objects["globals"])
    spec.set_initial("target_pid", 1234)
    assert spec.maps["globals.rodata"].data[:4] == struct.pack("<I", 1234)
    with pytest.raises(InvalidInputError, match="does not fit"):
        spec.set_initial("target_pid", -1)
    with pytest.raises(InvalidInputError, match="no global variable 'nope'.*known: .*target_pid"):
        spec.set_initial("nope", 1)


@pytest.mark.parametrize("make, message", [
    (lambda objs, tmp: tmp / "missing.o", "no such BPF object file"),
    (lambda objs, tmp: _write(tmp / "text.o", b"hello, not an ELF\n"), "not an ELF file"),
    (lambda objs, tmp: _write(tmp / "trunc.o", open(objs["globals"], "rb").read()[:3000]), "not a valid ELF"),
    (lambda objs, tmp: _write(tmp / "tiny.o", open(objs["globals"], "rb").read()[:40]), "not a valid ELF"),
    (lambda objs, tmp: shutil.which("true"), "not BPF"),
    (lambda objs, tmp: objs["nolicense"], "has no license section; add `char LICENSE"),
    (lambda objs, tmp: objs["badsection"], r"program 'mystery': unknown program section "
                                           r"SEC\(\"not_a_known_section/foo\"\).*use one of: socket"),
])
def test_bad_objects_fail_clearly_without_leaking(bpf_objects, tmp_path, no_fd_leak, make, message):
    path = make(bpf_objects, tmp_path)
    with pytest.raises(InvalidInputError, match=message):
        purebpf.load(path)


def test_x86_object_is_refused(tmp_path, no_fd_leak):
    if not shutil.which("cc"):
        pytest.skip("no host C compiler")
    src = tmp_path / "x.c"
    src.write_text("int f(void) { return 0; }\n")
    subprocess.run(["cc", "-c", str(src), "-o", str(tmp_path / "x.o")], check=True)
    with pytest.raises(InvalidInputError, match="ELF for EM_X86_64, not BPF"):
        read_object(tmp_path / "x.o")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
