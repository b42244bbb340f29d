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


def test_data_symbols_and_addresses_match_readelf():
    from purebpf.links.symbols import data_symbol, offset_to_address

    libc = resolve_binary("c")
    dynsym = subprocess.run(["readelf", "-W", "--dyn-syms", str(libc)], capture_output=True, text=True,
                            check=True).stdout
    row = next(ln.split() for ln in dynsym.splitlines() if ln.split()[-1:] == ["environ@@GLIBC_2.2.5"])
    sym = data_symbol(libc, "environ")
    assert sym is not None and sym.position_independent  # a shared library moves with its load base
    assert (sym.address, sym.size) == (int(row[1], 16), int(row[2]))
    assert data_symbol(libc, "labs") is None  # a function, not a variable
    labs = next(int(ln.split()[1], 16) for ln in dynsym.splitlines() if ln.split()[-1:] == ["labs@@GLIBC_2.2.5"])
    assert offset_to_address(libc, symbol_offset(libc, "labs")) == labs


def test_binary_inside_a_zip_archive(tmp_path, no_fd_leak):
    import zipfile

    from purebpf.errors import NotSupportedError
    from purebpf.links.symbols import archive_member, attach_path

    libc = resolve_binary("c")
    archive = tmp_path / "app.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "x" * 100)
        z.write(libc, "lib/libc.so.6", compress_type=zipfile.ZIP_STORED)
        z.write(libc, "packed.so", compress_type=zipfile.ZIP_DEFLATED)
    spec = f"{archive}!/lib/libc.so.6"
    assert str(resolve_binary(spec)) == spec  # kept as written: the member is read from the archive
    member = archive_member(spec)
    assert attach_path(spec) == str(archive)
    assert archive.read_bytes()[member.data_offset:member.data_offset + member.size] == libc.read_bytes()
    assert symbol_offset(spec, "labs") == member.data_offset + symbol_offset(libc, "labs")
    with pytest.raises(NotSupportedError, match="compressed"):
        resolve_binary(f"{archive}!/packed.so")
    with pytest.raises(NotFoundError, match="no member"):
        resolve_binary(f"{archive}!/nothing.so")
