"""Commands shared by every kind of BPF object: pin, open pinned, ids, info."""

from __future__ import annotations

import ctypes

from purebpf.errors import NotFoundError
from purebpf.sys.attrs import GetIdAttr, ObjInfoAttr, ObjPinAttr
from purebpf.sys.commands import Cmd
from purebpf.sys.syscall import bpf, bpf_raw

ENOENT = 2

# per object kind: (GET_NEXT_ID command, GET_FD_BY_ID command)
ID_COMMANDS = {
    "prog": (Cmd.PROG_GET_NEXT_ID, Cmd.PROG_GET_FD_BY_ID),
    "map": (Cmd.MAP_GET_NEXT_ID, Cmd.MAP_GET_FD_BY_ID),
    "link": (Cmd.LINK_GET_NEXT_ID, Cmd.LINK_GET_FD_BY_ID),
    "btf": (Cmd.BTF_GET_NEXT_ID, Cmd.BTF_GET_FD_BY_ID),
}

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TypeVar

    Info = TypeVar("Info", bound=ctypes.Structure)


def obj_pin(fd: int, path: str) -> None:
    """Pin object ``fd`` at ``path`` in bpffs (the path must not exist yet)."""
    raw = path.encode()
    buf = ctypes.create_string_buffer(raw)
    attr = ObjPinAttr(pathname=ctypes.addressof(buf), bpf_fd=fd)
    bpf(Cmd.OBJ_PIN, attr, f"pin at {path}")


def obj_get(path: str, flags: int = 0) -> int:
    """Open the object pinned at ``path``; return a new fd."""
    buf = ctypes.create_string_buffer(path.encode())
    attr = ObjPinAttr(pathname=ctypes.addressof(buf), file_flags=flags)
    ret, err = bpf_raw(Cmd.OBJ_GET, attr)
    if ret >= 0:
        return ret
    if err == ENOENT:
        raise NotFoundError(f"nothing is pinned at {path}")
    return bpf(Cmd.OBJ_GET, attr, f"pinned object {path}")


def iter_ids(kind: str) -> Iterator[int]:
    """Ids of every loaded object of ``kind`` ("prog", "map", "link", "btf")."""
    next_cmd = ID_COMMANDS[kind][0]
    attr = GetIdAttr()
    while True:
        ret, err = bpf_raw(next_cmd, attr)
        if ret < 0:
            if err == ENOENT:
                return
            bpf(next_cmd, attr, f"{kind} ids")  # raises with a message
        yield attr.next_id
        attr.start_id = attr.next_id


def fd_by_id(kind: str, obj_id: int, flags: int = 0) -> int:
    """A new fd for the ``kind`` object with id ``obj_id``."""
    cmd = ID_COMMANDS[kind][1]
    attr = GetIdAttr(start_id=obj_id, open_flags=flags)
    ret, err = bpf_raw(cmd, attr)
    if ret >= 0:
        return ret
    if err == ENOENT:
        raise NotFoundError(f"no {kind} with id {obj_id} (see `purebpf {kind} list`)")
    return bpf(cmd, attr, f"{kind} id {obj_id}")


def obj_info(fd: int, info: Info) -> Info:
    """Fill ``info`` (ProgInfo, MapInfo, LinkInfo, BtfInfo) for object ``fd``.

    Pointer fields the caller set in ``info`` (xlated insns, map ids) are
    filled by the kernel too.
    """
    attr = ObjInfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, "object info")
    return info


def obj_fdinfo(fd: int) -> dict[str, str]:
    """The kernel's ``/proc/self/fdinfo`` fields for a BPF object fd.

    Some facts are only published there: ``memlock`` (bytes charged),
    ``frozen`` (maps), ``owner_prog_type`` (prog arrays), ``prog_tag``.
    """
    fields: dict[str, str] = {}
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep:
                    fields[name.strip()] = value.strip()
    except OSError:
        pass
    return fields
