"""Library resolution and symbol offsets for uprobes, checked against ldconfig and readelf."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links.symbols import ld_cache_entries, mapped_file, resolve_binary, split_symbol, symbol_offset


@pytest.mark.skipif(shutil.which("ldconfig") is None, reason="ldconfig is the oracle")
def test_ld_so_cache_parser_agrees_with_ldconfig():
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    oracle = set(re.findall(r"^\s+(\S+) \((?:[^)]*)\) => (\S+)$", out, re.M))
    ours = set(ld_cache_entries())
    assert ours and ours == oracle


def test_library_by_name_and_by_pid_map_agree():
    libc = resolve_binary("c")
    assert libc.name == "libc.so.6"
    mapped = mapped_file(os.getpid(), "c")
    assert mapped is not None and os.path.samefile(mapped, libc)
    assert resolve_binary("libc", pid=os.getpid()) == mapped


def test_symbol_offset_matches_readelf():
    libc = resolve_binary("c")
    dynsym = subprocess.run(["readelf", "-W", "--dyn-syms", str(libc)], capture_output=True, text=True,
                            check=True).stdout
    value = next(int(ln.split()[1], 16) for ln in dynsym.splitlines() if ln.split()[-1:] == ["labs@@GLIBC_2.2.5"])
    # libc's text segment: file offset == vaddr - (vaddr - offset) of its executable PT_LOAD
    phdrs = subprocess.run(["readelf", "-W", "-l", str(libc)], capture_output=True, text=True, check=True).stdout
    for ln in phdrs.splitlines():
        f = ln.split()
        if f[:1] == ["LOAD"] and "E" in f[6:-1]:
            off, vaddr, memsz = int(f[1], 16), int(f[2], 16), int(f[5], 16)
            if vaddr <= value < vaddr + memsz:
                assert symbol_offset(libc, "labs") == value - vaddr + off
                break
    else:
        pytest.fail("labs is in no executable segment")


def test_symbol_syntax():
    assert split_symbol("f") == ("f", 0)
    assert split_symbol("f+0x10") == ("f", 16)
    with pytest.raises(InvalidInputError, match="bad offset"):
        split_symbol("f+x")


def test_not_elf_and_missing(tmp_path, no_fd_leak):
    text = tmp_path / "script.sh"
    text.write_text("#!/bin/sh\n")
    with pytest.raises(InvalidInputError, match="not a valid ELF"):
        symbol_offset(text, "main")
    with pytest.raises(NotFoundError, match="no process with pid"):
        mapped_file(2**22 + 4321, "c")
    with pytest.raises(NotFoundError, match="'libnosuchthing'"):
        resolve_binary("libnosuchthing")
