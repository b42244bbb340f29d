"""Program lifetime and inspection: info, pin, open by pin / id / fd."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from purebpf.asm import R0, R1, exit_, ld_map_fd, mov
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.maps import Map
from purebpf.programs import Program, ProgType
from purebpf.sys import ClosedError, MapType


def test_info_describes_the_loaded_program():
    before = datetime.now(timezone.utc)
    with Map(MapType.ARRAY, 4, 8, 1) as m, Program(
            ProgType.SOCKET_FILTER, [ld_map_fd(R1, m.fd), mov(R0, 0), exit_()], name="info_probe") as prog:
        info = prog.info()
        assert info.name == "info_probe"
        assert info.type == ProgType.SOCKET_FILTER
        assert info.id > 0 and info.id == prog.id
        assert len(info.tag) == 16 and int(info.tag, 16) >= 0
        assert info.gpl is True
        assert info.uid == os.getuid()
        assert info.map_ids == [m.id]
        assert info.verified_insns >= 3
        assert info.jited_size > 0
        # xlated: the map fd became a map pointer, the rest is what we wrote
        assert [i.opcode for i in info.xlated] == [0x18, 0xB7, 0x95]
        assert info.xlated_size == 4 * 8
        assert abs((info.loaded_at - before).total_seconds()) < 5
        assert info.run_cnt == 0 and info.btf_id == 0


def test_pin_and_open_again(pin_dir, no_fd_leak):
    path = str(pin_dir / "prog")
    with Program(ProgType.XDP, [mov(R0, 2), exit_()], name="pinned") as prog:
        prog.pin(path)
        prog_id = prog.id
    with Program.from_pin(path) as again:
        assert again.id == prog_id
        assert again.name == "pinned" and again.type == ProgType.XDP
        assert again.test_run(bytes(64)).retval == 2
    os.unlink(path)


def test_from_id_and_from_fd_take_ownership(no_fd_leak):
    with Program(ProgType.SOCKET_FILTER, [mov(R0, 7), exit_()], name="by_id") as prog:
        other = Program.from_id(prog.id)
        assert other.fd != prog.fd and other.id == prog.id
        assert other.test_run(bytes(20)).retval == 7
        other.close()
        dup = Program.from_fd(os.dup(prog.fd))
        assert dup.spec.insns[0].imm == 7
        dup.close()
        assert dup.closed


def test_from_id_of_missing_program_says_so(no_fd_leak):
    with pytest.raises(NotFoundError, match="no prog with id"):
        Program.from_id(0x7FFFFFF0)


def test_from_pin_missing(pin_dir, no_fd_leak):
    with pytest.raises(NotFoundError, match="nothing is pinned"):
        Program.from_pin(str(pin_dir / "absent"))


def test_from_fd_closes_a_non_program_fd(no_fd_leak):
    with Map(MapType.ARRAY, 4, 4, 1) as m:
        fd = os.dup(m.fd)
        with pytest.raises(InvalidInputError, match="not a BPF program"):
            Program.from_fd(fd)
        with pytest.raises(OSError):
            os.fstat(fd)  # the fd was closed on the error path


def test_closed_program_refuses_use():
    prog = Program(ProgType.SOCKET_FILTER, [mov(R0, 0), exit_()])
    prog.close()
    with pytest.raises(ClosedError):
        prog.info()
