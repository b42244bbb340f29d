"""libbpf (through ``bpftool prog loadall``) and purebpf load the same object: the
kernel must end up with identical translated instructions for every program.

Map references are compared by map name (ids differ between the two loads);
everything else (helper calls, subprogram layout, CO-RE offsets, global-data
offsets, dead code the verifier removed thanks to frozen .rodata) must match.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import purebpf
from purebpf.maps import Map
from purebpf.programs.info import program_info
from purebpf.sys.fs import bpffs
from purebpf.sys.objects import obj_get

pytestmark = pytest.mark.skipif(not shutil.which("bpftool"), reason="bpftool (the libbpf oracle) is not installed")
LD_IMM64 = 0x18
PSEUDO_MAP_FD, PSEUDO_MAP_VALUE = 1, 2


def normalised_xlated(fd: int) -> list[tuple]:
    info = program_info(fd)
    names = {}
    for map_id in info.map_ids:
        with Map.from_id(map_id) as m:
            names[map_id] = m.name
    out = []
    for insn in info.xlated:
        if insn.opcode == LD_IMM64 and insn.src in (PSEUDO_MAP_FD, PSEUDO_MAP_VALUE):
            map_id, offset = insn.imm & 0xFFFFFFFF, insn.imm >> 32
            out.append((insn.opcode, insn.dst, insn.src, insn.off, names.get(map_id, "?"), offset))
        else:
            out.append((insn.opcode, insn.dst, insn.src, insn.off, insn.imm))
    return out


@pytest.mark.parametrize("name", ["globals", "tailcall", "core", "mapinmap", "autoattach"])
def test_same_xlated_instructions_as_libbpf(bpf_objects, name):
    path = bpf_objects[name]
    pin_dir = os.path.join(bpffs(), f"purebpf_test_elf_{os.getpid()}_{name}")
    subprocess.run(["bpftool", "prog", "loadall", path, pin_dir], check=True, capture_output=True)
    try:
        with purebpf.load(path) as obj:
            assert obj.programs
            for prog_name, prog in obj.programs.items():
                fd = obj_get(os.path.join(pin_dir, prog_name))
                try:
                    theirs = normalised_xlated(fd)
                finally:
                    os.close(fd)
                ours = normalised_xlated(prog.fd)
                assert ours == theirs, f"{name}:{prog_name} differs from libbpf's load"
    finally:
        for entry in os.listdir(pin_dir):
            os.unlink(os.path.join(pin_dir, entry))
        os.rmdir(pin_dir)
