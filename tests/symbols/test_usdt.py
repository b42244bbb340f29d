"""Reading USDT notes and parsing their argument specs, against readelf -n."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.symbols.usdt import PT_REGS, parse_arg, usdt_notes
from tests.symbols.usdt_programs import build


@pytest.fixture(scope="module")
def progs(tmp_path_factory):
    return build(tmp_path_factory.mktemp("usdt"))


def _readelf(path) -> list[tuple[str, str, int, int, int, str]]:
    text = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True, check=True).stdout
    pat = re.compile(r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), "
                     r"Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)")
    return [(p, n, int(loc, 16), int(base, 16), int(sem, 16), args.strip()) for p, n, loc, base, sem, args in
            pat.findall(text)]


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf is the oracle")
@pytest.mark.parametrize("name", ["usdt_args", "usdt_semaphore_test", "usdt_inlined", "usdt_multi_args"])
def test_notes_match_readelf(progs, name):
    path = progs / "testprogs" / name
    ours = [(n.provider, n.name, n.pc, n.semaphore, n.arg_spec) for n in usdt_notes(path)]
    theirs = [(p, n, loc, sem, args) for p, n, loc, _, sem, args in _readelf(path)]
    assert ours == theirs and ours


def test_file_offsets_and_semaphore(progs):
    path = progs / "testprogs" / "usdt_semaphore_test"
    (note,) = usdt_notes(path)
    assert note.semaphore and note.semaphore_offset
    data = path.read_bytes()
    assert data[note.offset] == 0x90  # the nop the note points at
    assert data[note.semaphore_offset:note.semaphore_offset + 2] == b"\0\0"
    lib = usdt_notes(progs / "testlibs" / "libusdt_tp.so")
    assert [(n.provider, n.name, n.semaphore) for n in lib] == [("tracetestlib", "lib_probe_1", 0)]


def test_inlined_probe_has_two_sites_with_different_specs(progs):
    sites = [n for n in usdt_notes(progs / "testprogs" / "usdt_inlined") if n.name == "testprobe"]
    assert len(sites) == 2 and len({s.arg_spec for s in sites}) == 2


@pytest.mark.parametrize("spec, expect", [
    ("-4@%edi", dict(size=4, signed=True, kind="reg", reg="rdi")),
    ("8@%rax", dict(size=8, signed=False, kind="reg", reg="rax")),
    ("1@%ah", dict(size=1, kind="reg", reg="rax", shift=8)),
    ("-2@%r9w", dict(size=2, signed=True, kind="reg", reg="r9")),
    ("8@-8(%rbp)", dict(kind="mem", reg="rbp", offset=-8)),
    ("4@(%rsp)", dict(kind="mem", reg="rsp", offset=0)),
    ("8@16(%rdx,%rcx,8)", dict(kind="mem", reg="rdx", offset=16, index="rcx", scale=8)),
    ("4@$5", dict(kind="const", value=5)),
    ("-8@$-579005069656919568", dict(kind="const", value=-579005069656919568, signed=True)),
])
def test_arg_specs(spec, expect):
    arg = parse_arg(spec)
    for key, value in expect.items():
        assert getattr(arg, key) == value, key
    if arg.reg:
        assert arg.reg_offset == PT_REGS[arg.reg]


@pytest.mark.parametrize("spec, message", [
    ("3@%eax", "size 3"), ("x@%eax", "size before '@'"), ("4@%foo", "unknown register"),
    ("4@$zz", "constant"), ("8@sym(%rip)", "expected %reg"),
])
def test_bad_arg_specs(spec, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        parse_arg(spec)


def test_missing_file_and_non_elf(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        usdt_notes(tmp_path / "nope")
    text = tmp_path / "text"
    text.write_text("not an ELF file at all")
    with pytest.raises(InvalidInputError, match="not a valid ELF"):
        usdt_notes(text)
