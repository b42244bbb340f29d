"""``ProgramInfo``: what the kernel knows about a loaded program
(``BPF_OBJ_GET_INFO_BY_FD``), decoded into Python values.

Reading it takes two calls: the first learns how many instructions and map
ids there are, the second hands the kernel buffers of that size.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from purebpf.asm.instruction import Instruction, decode
from purebpf.sys import ProgType
from purebpf.sys.attrs import ProgInfo
from purebpf.sys.objects import obj_info


@dataclass
class ProgramInfo:
    """A loaded program as the kernel describes it.

    ``run_cnt`` and ``run_time_ns`` only count while run-time statistics are
    on (:func:`purebpf.programs.enable_stats` or the sysctl
    ``kernel.bpf_stats_enabled``).  ``xlated`` is the program after the
    verifier rewrote it; it is empty when the kernel hides it (kptr_restrict,
    missing CAP_SYS_ADMIN).
    """
    id: int
    name: str
    type: ProgType | int
    tag: str
    gpl: bool
    loaded_at: datetime
    load_time_ns: int  # since boot (CLOCK_BOOTTIME)
    uid: int
    run_cnt: int
    run_time_ns: int
    recursion_misses: int
    verified_insns: int
    xlated: list[Instruction] = field(repr=False)
    xlated_size: int
    jited_size: int
    map_ids: list[int]
    btf_id: int
    nr_func_info: int
    nr_line_info: int
    attach_btf_id: int
    attach_btf_obj_id: int
    ifindex: int


def _boot_epoch() -> float:
    """Wall-clock time of boot, to turn CLOCK_BOOTTIME stamps into dates."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def program_info(fd: int) -> ProgramInfo:
    first = obj_info(fd, ProgInfo())
    xlated = ctypes.create_string_buffer(first.xlated_prog_len) if first.xlated_prog_len else None
    maps = (ctypes.c_uint32 * first.nr_map_ids)() if first.nr_map_ids else None
    req = ProgInfo(xlated_prog_len=first.xlated_prog_len, nr_map_ids=first.nr_map_ids)
    if xlated is not None:
        req.xlated_prog_insns = ctypes.addressof(xlated)
    if maps is not None:
        req.map_ids = ctypes.addressof(maps)
    info = obj_info(fd, req)
    try:
        type_: ProgType | int = ProgType(info.type)
    except ValueError:
        type_ = info.type
    code = xlated.raw[:info.xlated_prog_len] if xlated is not None else b""
    return ProgramInfo(
        id=info.id, name=info.name.decode(errors="replace"), type=type_, tag=bytes(info.tag).hex(),
        gpl=bool(info.gpl_compatible & 1),
        loaded_at=datetime.fromtimestamp(_boot_epoch() + info.load_time / 1e9, tz=timezone.utc),
        load_time_ns=info.load_time, uid=info.created_by_uid, run_cnt=info.run_cnt,
        run_time_ns=info.run_time_ns, recursion_misses=info.recursion_misses,
        verified_insns=info.verified_insns, xlated=decode(code) if code.strip(b"\0") else [],
        xlated_size=first.xlated_prog_len, jited_size=first.jited_prog_len,
        map_ids=list(maps)[:min(info.nr_map_ids, first.nr_map_ids)] if maps is not None else [],
        btf_id=info.btf_id, nr_func_info=info.nr_func_info, nr_line_info=info.nr_line_info,
        attach_btf_id=info.attach_btf_id, attach_btf_obj_id=info.attach_btf_obj_id, ifindex=info.ifindex)


FUNC_INFO_SIZE = 8  # struct bpf_func_info: insn_off, type_id (u32 each)


def program_functions(fd: int) -> tuple[int, list[tuple[int, int]]]:
    """(id of the program's BTF, [(first instruction, BTF FUNC type id), ...]) of a program loaded with
    BTF func info, its main function first; (0, []) without.  The BTF names the program's functions:
    bpftool shows them and fentry/fexit on a BPF program (purebpf.links.prog_target) picks one by name."""
    first = obj_info(fd, ProgInfo())
    if not first.btf_id or not first.nr_func_info:
        return first.btf_id, []
    buf = ctypes.create_string_buffer(first.nr_func_info * FUNC_INFO_SIZE)
    info = obj_info(fd, ProgInfo(nr_func_info=first.nr_func_info, func_info_rec_size=FUNC_INFO_SIZE,
                                 func_info=ctypes.addressof(buf)))
    count = min(info.nr_func_info, first.nr_func_info)
    words = memoryview(buf.raw).cast("I")  # native order: the kernel's
    return info.btf_id, [(words[2 * i], words[2 * i + 1]) for i in range(count)]
