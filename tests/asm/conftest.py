"""Kernel oracles for the disassembler: load a socket filter with the raw bpf
syscall, read its translated instructions back, and ask bpftool and the
verifier log how they print them."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from purebpf.asm import Instruction, PseudoCall, assemble, encode
from purebpf.sys import FD, Cmd, MapType, ProgType, bpf
from purebpf.sys.attrs import MapCreateAttr, ObjInfoAttr, ProgInfo, ProgLoadAttr


@dataclass
class Loaded:
    """A loaded program: its fd, id, translated bytes and verifier log."""
    fd: FD
    id: int
    xlated: bytes
    jited_ksyms: list[int]
    log: str = ""
    maps: list[FD] = field(default_factory=list)


def _info(fd: FD, info: ProgInfo) -> ProgInfo:
    attr = ObjInfoAttr(bpf_fd=fd.raw, info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, "program info")
    return info


def _load(insns: list[Instruction], log_level: int = 0) -> tuple[FD, str]:
    code = encode(assemble(insns))
    buf = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 22 if log_level else 1)
    attr = ProgLoadAttr(prog_type=ProgType.SOCKET_FILTER, insn_cnt=len(code) // 8, insns=ctypes.addressof(buf),
                        license=ctypes.addressof(lic), log_level=log_level,
                        log_size=len(log) if log_level else 0, log_buf=ctypes.addressof(log) if log_level else 0,
                        prog_name=b"purebpf_asm")
    try:
        return FD(bpf(Cmd.PROG_LOAD, attr, "asm test program")), log.value.decode()
    except Exception as exc:
        raise AssertionError(f"{exc}\n{log.value.decode()[-3000:]}") from exc


@pytest.fixture
def load_filter() -> Iterator[Callable[..., Loaded]]:
    """``load_filter(insns, log_level=0)`` loads a GPL socket filter; closed after the test."""
    fds: list[FD] = []

    def load(insns: list[Instruction], log_level: int = 0) -> Loaded:
        fd, log = _load(insns, log_level)
        fds.append(fd)
        first = _info(fd, ProgInfo())
        xlated = ctypes.create_string_buffer(first.xlated_prog_len)
        ksyms = (ctypes.c_uint64 * first.nr_jited_ksyms)()
        full = _info(fd, ProgInfo(xlated_prog_len=first.xlated_prog_len, xlated_prog_insns=ctypes.addressof(xlated),
                                  nr_jited_ksyms=first.nr_jited_ksyms, jited_ksyms=ctypes.addressof(ksyms)))
        return Loaded(fd, full.id, xlated.raw, list(ksyms), log)

    yield load
    for fd in fds:
        fd.close()


@pytest.fixture
def make_map() -> Iterator[Callable[..., int]]:
    """``make_map(type, key_size, value_size, max_entries)`` returns a map fd, closed after the test."""
    fds: list[FD] = []

    def make(map_type: MapType, key_size: int = 4, value_size: int = 8, max_entries: int = 1) -> int:
        fd = FD(bpf(Cmd.MAP_CREATE, MapCreateAttr(map_type=map_type, key_size=key_size, value_size=value_size,
                                                  max_entries=max_entries), "asm test map"))
        fds.append(fd)
        return fd.raw

    yield make
    for fd in fds:
        fd.close()


def _read_kallsyms(only_bpf: bool = False) -> dict[int, str]:
    names: dict[int, str] = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            if only_bpf and not line.endswith("[bpf]\n"):
                continue
            addr, _, name = line.split()[:3]
            names.setdefault(int(addr, 16), name)
    return names


@pytest.fixture(scope="session")
def kallsyms() -> dict[int, str]:
    """Kernel symbol address -> name (the first name listed at an address), as bpftool reads them."""
    names = _read_kallsyms()
    if set(names) == {0}:
        pytest.skip("/proc/kallsyms hides addresses (kptr_restrict); bpftool cannot name calls either")
    return names


@pytest.fixture
def call_namer(kallsyms: dict[int, str]) -> Callable[[Loaded], Callable[[Instruction], str | None]]:
    """Names calls in xlated code as bpftool does: helpers by address from
    ``__bpf_call_base``, subprograms by their JIT image symbol (read after the load)."""
    base = next(addr for addr, name in kallsyms.items() if name == "__bpf_call_base")

    def for_program(prog: Loaded) -> Callable[[Instruction], str | None]:
        images = _read_kallsyms(only_bpf=True)

        def name(insn: Instruction) -> str | None:
            if insn.src == PseudoCall.CALL:
                return images.get(prog.jited_ksyms[insn.imm]) if insn.imm < len(prog.jited_ksyms) else None
            return kallsyms.get((base + insn.imm) & 0xFFFFFFFFFFFFFFFF)
        return name

    return for_program


@pytest.fixture(scope="session")
def bpftool_xlated() -> Callable[..., str]:
    """``bpftool_xlated(prog_id, opcodes=False)``: bpftool's plain-text dump of a loaded program."""
    tool = shutil.which("bpftool")
    if tool is None:
        pytest.skip("bpftool (the oracle) is not installed")

    def dump(prog_id: int, opcodes: bool = False) -> str:
        cmd = [tool, "prog", "dump", "xlated", "id", str(prog_id)] + (["opcodes"] if opcodes else [])
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout

    return dump


_LIVE_REGS = re.compile(r"^\s*(\d+): [.0-9]{10} (\(.*)$")


@pytest.fixture(scope="session")
def verifier_listing() -> Callable[[str], dict[int, str]]:
    """``verifier_listing(log)``: slot -> instruction text from the 'Live regs
    before insn' listing of a level-2 verifier log (kernel 6.15+), the kernel's
    own disassembly of each instruction as loaded, before any rewrite."""

    def listing(log: str) -> dict[int, str]:
        if "Live regs before insn:" not in log:
            pytest.skip("this kernel's verifier log has no instruction listing")
        out: dict[int, str] = {}
        for line in log.split("Live regs before insn:", 1)[1].lstrip("\n").splitlines():
            m = _LIVE_REGS.match(line)
            if not m:
                break
            out[int(m.group(1))] = m.group(2)
        return out

    return listing
