"""A flat binary (raw machine code a program maps by hand) has no ELF headers: an address in it is
its file offset, and symbol names cannot be resolved."""

from __future__ import annotations

import pytest

from purebpf.errors import InvalidInputError
from purebpf.links.symbols import is_elf, symbol_offset

EXIT_1 = bytes.fromhex("b83c000000bf010000000f05")  # x86_64: mov eax, 60; mov edi, 1; syscall


def test_address_in_flat_binary_is_its_offset(tmp_path):
    flat = tmp_path / "false.bin"
    flat.write_bytes(EXIT_1)
    assert not is_elf(flat)
    assert symbol_offset(flat, 0) == 0
    assert symbol_offset(flat, 5, offset=1) == 6
    with pytest.raises(InvalidInputError, match="not a valid ELF file"):
        symbol_offset(flat, "main")


def test_elf_is_recognised():
    assert is_elf("/bin/true")
