"""``purebpf prog|map|link``: list loaded BPF objects and dump maps, like bpftool.

    purebpf prog list            purebpf map list           purebpf link list
    purebpf map dump 12          purebpf map dump pinned /sys/fs/bpf/counts      (-j for JSON)

Text output follows bpftool's layout (same fields, same order) so habits and
scripts carry over; ``--json`` gives the same data with bpftool's key names.
Maps with BTF are dumped decoded (field names, strings) as well as in hex.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import socket
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any

from purebpf.errors import BPFError, NotFoundError
from purebpf.sys import FD, AttachType, LinkType, MapType, ProgType
from purebpf.sys.attrs import LinkInfo, MapInfo
from purebpf.sys.objects import fd_by_id, iter_ids, obj_fdinfo, obj_get, obj_info

# -- names as bpftool prints them --------------------------------------------------


def _enum_name(enum: type, value: int, fallback: str = "type") -> str:
    try:
        return enum(value).name.lower()
    except ValueError:
        return f"{fallback} {value}"


def _json_flag(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's default must not erase a -j given before it
    parser.add_argument("-j", "--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON (bpftool's keys) instead of text")


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout)
    sys.stdout.write("\n")


def _open_objects(kind: str, only: int | None) -> Iterator[tuple[int, FD]]:
    """(id, owned fd) of every object of ``kind`` (or just ``only``), skipping ones
    that vanish between listing and opening."""
    for obj_id in [only] if only is not None else list(iter_ids(kind)):
        try:
            fd = FD(fd_by_id(kind, obj_id))
        except NotFoundError:
            if only is not None:
                raise
            continue
        try:
            yield obj_id, fd
        finally:
            fd.close()


# -- maps ---------------------------------------------------------------------------

def map_record(fd: int) -> dict[str, Any]:
    """One map as bpftool's JSON describes it."""
    info = obj_info(fd, MapInfo())
    fdinfo = obj_fdinfo(fd)
    rec: dict[str, Any] = {"id": info.id, "type": _enum_name(MapType, info.type)}
    if info.name:  # bpftool leaves out empty names
        rec["name"] = info.name.decode(errors="replace")
    rec.update({
        "flags": info.map_flags, "bytes_key": info.key_size, "bytes_value": info.value_size,
        "max_entries": info.max_entries, "bytes_memlock": int(fdinfo.get("memlock", 0)),
        "frozen": int(fdinfo.get("frozen", 0)),
    })
    if info.type == MapType.PROG_ARRAY and "owner_prog_type" in fdinfo:
        rec["owner_prog_type"] = _enum_name(ProgType, int(fdinfo["owner_prog_type"]))
        rec["owner_jited"] = fdinfo.get("owner_jited") == "1"
    if info.btf_id:
        rec["btf_id"] = info.btf_id
    return rec


def map_text(rec: dict[str, Any]) -> list[str]:
    name = f"name {rec['name']}  " if rec.get("name") else ""
    lines = [f"{rec['id']}: {rec['type']}  {name}flags 0x{rec['flags']:x}",
             f"\tkey {rec['bytes_key']}B  value {rec['bytes_value']}B  max_entries {rec['max_entries']}"
             f"  memlock {rec['bytes_memlock']}B"]
    if rec["frozen"]:
        lines.append("\tfrozen")
    if "owner_prog_type" in rec:
        lines.append(f"\towner_prog_type {rec['owner_prog_type']}  owner{'' if rec['owner_jited'] else ' not'} jited")
    if "btf_id" in rec:
        lines.append(f"\tbtf_id {rec['btf_id']}")
    return lines


def hex_bytes(data: bytes) -> str:
    """bpftool's hex layout: space-separated, a wider gap every 8 bytes, 16 per line."""
    out = []
    for i, b in enumerate(data):
        if i:
            out.append("\n" if i % 16 == 0 else "  " if i % 8 == 0 else " ")
        out.append(f"{b:02x}")
    return "".join(out)


def _hex_list(data: bytes) -> list[str]:
    return [f"0x{b:02x}" for b in data]


def _open_map_target(words: list[str]) -> int:
    """An fd for ``ID``, ``id ID``, ``pinned PATH`` or ``PATH``."""
    if len(words) == 2 and words[0] in ("id", "pinned"):
        kind, target = words
    elif len(words) == 1:
        target = words[0]
        kind = "id" if target.isdigit() else "pinned"
    else:
        raise NotFoundError(f"expected a map id or pinned path, got {' '.join(words)!r}: "
                            "use `map dump ID` or `map dump pinned PATH`")
    if kind == "id":
        if not target.isdigit():
            raise NotFoundError(f"map id must be a number, got {target!r}")
        return fd_by_id("map", int(target))
    return obj_get(target)


def _dump_entries(m: Any) -> Iterator[tuple[bytes, bytes | None, str | None]]:
    """(key, value or None, error or None) for every key of ``m``."""
    if m.type in (MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH):
        for k, v in m.items_raw():  # batched
            yield k, v, None
        return
    try:
        keys = list(m.keys_raw())
    except BPFError:  # queue, stack, ring buffer, bloom filter: no keys to walk
        return
    for k in keys:
        try:
            v = m.lookup_raw(k)
        except BPFError as exc:
            yield k, None, str(exc)
            continue
        if v is not None:
            yield k, v, None


def _btf_decoder(m: Any) -> tuple[Callable[[bytes], Any], Callable[[bytes], Any]] | None:
    """Key and value decoders from the map's own BTF, when it has some and purebpf.btf can read it."""
    try:
        from purebpf.maps.btf_codec import map_btf_codecs
    except ImportError:
        return None
    try:
        codecs = map_btf_codecs(m.fd)
    except BPFError:
        return None
    if codecs is None:
        return None
    key_codec, value_codec = codecs
    if not hasattr(m, "slot_size"):
        return key_codec.decode, value_codec.decode
    slot, size = m.slot_size, m.value_size
    return key_codec.decode, lambda v: [value_codec.decode(v[i:i + size]) for i in range(0, len(v), slot)]


def dump_records(m: Any) -> list[dict[str, Any]]:
    percpu = hasattr(m, "slot_size")
    decoders = _btf_decoder(m)
    records = []
    for k, v, error in _dump_entries(m):
        rec: dict[str, Any] = {"key": _hex_list(k)}
        if error is not None:
            rec["value"] = {"error": error}
        elif percpu:
            slot, size = m.slot_size, m.value_size
            rec["values"] = [{"cpu": i // slot, "value": _hex_list(v[i:i + size])} for i in range(0, len(v), slot)]
        else:
            rec["value"] = _hex_list(v)
        if decoders is not None and error is None:
            rec["formatted"] = {"key": decoders[0](k), "value": decoders[1](v)}
        records.append(rec)
    return records


def _unhex(items: list[str]) -> bytes:
    return bytes(int(x, 16) for x in items)


def dump_text(rec: dict[str, Any]) -> list[str]:
    key = _unhex(rec["key"])
    if "formatted" in rec:
        f = rec["formatted"]
        return [f"key: {json.dumps(f['key'])}  value: {json.dumps(f['value'])}"]
    if isinstance(rec.get("value"), dict):
        return ["key:", hex_bytes(key), "value:", rec["value"]["error"]]
    if "values" in rec:
        lines = ["key:", hex_bytes(key)]
        for slot in rec["values"]:
            value = _unhex(slot["value"])
            sep = "\n" if len(value) > 16 else " "
            lines.append(f"value (CPU {slot['cpu']:02d}):{sep}{hex_bytes(value)}")
        return lines
    value = _unhex(rec["value"])
    break_names = len(key) > 16 or len(value) > 16
    single_line = len(key) + len(value) <= 24 and not break_names
    name_sep = "\n" if break_names else " "
    text = f"key:{name_sep}{hex_bytes(key)}{'  ' if single_line else chr(10)}value:{name_sep}{hex_bytes(value)}"
    return text.split("\n")


def cmd_map_dump(args: argparse.Namespace) -> int:
    from purebpf.maps import Map
    with Map.from_fd(_open_map_target(args.target)) as m:
        records = dump_records(m)
    if getattr(args, "json", False):
        _print_json(records)
        return 0
    for rec in records:
        print("\n".join(dump_text(rec)))
    found = sum(1 for r in records if not isinstance(r.get("value"), dict))
    print(f"Found {found} element{'' if found == 1 else 's'}")
    return 0


# -- programs -----------------------------------------------------------------------

def prog_record(fd: int) -> dict[str, Any]:
    from purebpf.programs.info import program_info
    info = program_info(fd)
    rec: dict[str, Any] = {"id": info.id, "type": _enum_name(ProgType, int(info.type))}
    if info.name:
        rec["name"] = info.name
    rec.update({"tag": info.tag, "gpl_compatible": info.gpl})
    if info.run_time_ns:
        rec["run_time_ns"], rec["run_cnt"] = info.run_time_ns, info.run_cnt
    if info.recursion_misses:
        rec["recursion_misses"] = info.recursion_misses
    rec.update({
        "loaded_at": int(info.loaded_at.timestamp()), "uid": info.uid, "bytes_xlated": info.xlated_size,
        "jited": info.jited_size > 0, "bytes_jited": info.jited_size,
        "bytes_memlock": int(obj_fdinfo(fd).get("memlock", 0)), "map_ids": info.map_ids,
    })
    if info.btf_id:
        rec["btf_id"] = info.btf_id
    return rec


def prog_text(rec: dict[str, Any]) -> list[str]:
    from datetime import datetime
    name = f"name {rec['name']}  " if rec.get("name") else ""
    head = f"{rec['id']}: {rec['type']}  {name}tag {rec['tag']}{'  gpl' if rec['gpl_compatible'] else ''}"
    if "run_time_ns" in rec:
        head += f" run_time_ns {rec['run_time_ns']} run_cnt {rec['run_cnt']}"
    if "recursion_misses" in rec:
        head += f" recursion_misses {rec['recursion_misses']}"
    loaded = datetime.fromtimestamp(rec["loaded_at"]).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
    sizes = f"\txlated {rec['bytes_xlated']}B  " + (f"jited {rec['bytes_jited']}B" if rec["jited"] else "not jited")
    sizes += f"  memlock {rec['bytes_memlock']}B"
    if rec["map_ids"]:
        sizes += "  map_ids " + ",".join(map(str, rec["map_ids"]))
    lines = [head, f"\tloaded_at {loaded}  uid {rec['uid']}", sizes]
    if "btf_id" in rec:
        lines.append(f"\tbtf_id {rec['btf_id']}")
    return lines


# -- links --------------------------------------------------------------------------

PERF_EVENT_KINDS = {1: "uprobe", 2: "uretprobe", 3: "kprobe", 4: "kretprobe", 5: "tracepoint", 6: "event"}


def _link_string(fd: int, ptr_off: int, len_off: int, size: int = 512) -> str:
    """Ask the kernel again for a string member of the link info union
    (tracepoint or iterator name), handing it a buffer."""
    buf = ctypes.create_string_buffer(size)
    info = LinkInfo()
    struct.pack_into("<Q", info.extra, ptr_off, ctypes.addressof(buf))
    struct.pack_into("<I", info.extra, len_off, size)
    try:
        obj_info(fd, info)
    except BPFError:
        return ""
    return buf.value.decode(errors="replace")


def _ifname(ifindex: int) -> str:
    try:
        return f"{socket.if_indextoname(ifindex)}({ifindex})"
    except OSError:
        return f"({ifindex})"


def _attach(value: int) -> str:
    return _enum_name(AttachType, value, "attach_type")


def link_details(fd: int, info: LinkInfo) -> dict[str, Any]:
    """The per-type part of ``struct bpf_link_info`` (the union after prog_id)."""
    x = bytes(info.extra)
    u32 = [struct.unpack_from("<I", x, off)[0] for off in range(0, 16, 4)]
    t = info.type
    if t == LinkType.RAW_TRACEPOINT:
        return {"tp_name": _link_string(fd, 0, 8)}
    if t == LinkType.TRACING:
        return {"attach_type": _attach(u32[0]), "target_obj_id": u32[1], "target_btf_id": u32[2]}
    if t == LinkType.CGROUP:
        return {"cgroup_id": struct.unpack_from("<Q", x, 0)[0], "attach_type": _attach(u32[2])}
    if t == LinkType.ITER:
        return {"target_name": _link_string(fd, 0, 8)}
    if t == LinkType.NETNS:
        return {"netns_ino": u32[0], "attach_type": _attach(u32[1])}
    if t == LinkType.XDP:
        return {"ifindex": u32[0], "devname": _ifname(u32[0])}
    if t in (LinkType.TCX, LinkType.NETKIT):
        return {"ifindex": u32[0], "devname": _ifname(u32[0]), "attach_type": _attach(u32[1])}
    if t == LinkType.STRUCT_OPS:
        return {"map_id": u32[0]}
    if t == LinkType.SOCKMAP:
        return {"map_id": u32[0], "attach_type": _attach(u32[1])}
    if t == LinkType.NETFILTER:
        return {"pf": u32[0], "hook": u32[1], "prio": struct.unpack_from("<i", x, 8)[0], "flags": u32[3]}
    if t == LinkType.KPROBE_MULTI:
        return {"func_cnt": u32[2], "missed": struct.unpack_from("<Q", x, 16)[0]}
    if t == LinkType.UPROBE_MULTI:
        count, _, pid = struct.unpack_from("<III", x, 36)
        return {"func_cnt": count, "pid": pid}
    if t == LinkType.PERF_EVENT:
        kind = PERF_EVENT_KINDS.get(u32[0], f"type {u32[0]}")
        out: dict[str, Any] = {"event_type": kind}
        if kind == "tracepoint":
            out["tp_name"] = _link_string(fd, 8, 16)
        elif kind in ("kprobe", "kretprobe"):
            out["func"] = _link_string(fd, 8, 16)
            out["offset"], out["addr"] = u32[3], struct.unpack_from("<Q", x, 24)[0]
        elif kind in ("uprobe", "uretprobe"):
            out["file"] = _link_string(fd, 8, 16, 4096)
            out["offset"] = u32[3]
        elif kind == "event":
            out["config"], out["type"] = struct.unpack_from("<Q", x, 8)[0], u32[0]
        return out
    return {}


def link_record(fd: int) -> dict[str, Any]:
    info = obj_info(fd, LinkInfo())
    rec: dict[str, Any] = {"id": info.id, "type": _enum_name(LinkType, info.type), "prog_id": info.prog_id}
    rec.update(link_details(fd, info))
    return rec


def link_text(rec: dict[str, Any]) -> list[str]:
    lines = [f"{rec['id']}: {rec['type']}  prog {rec['prog_id']}"]
    details = {k: v for k, v in rec.items() if k not in ("id", "type", "prog_id", "ifindex")}
    if "tp_name" in details:
        details["tp"] = f"'{details.pop('tp_name')}'"
    if "devname" in details:
        details["ifindex"] = details.pop("devname")
    if details:
        lines.append("\t" + "  ".join(f"{k} {v}" for k, v in details.items()))
    return lines


# -- argument parsing ---------------------------------------------------------------

def _list_parser(sub: Any, kind: str, func: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser("list", aliases=["show"], help=f"list loaded {kind}s (or one, by id)")
    p.add_argument("id", nargs="?", type=int, help=f"only this {kind} id")
    _json_flag(p)
    p.set_defaults(func=func)


# per kind: the record of one object (what --json prints) and its bpftool-style text
LISTINGS: dict[str, tuple[Callable[[int], dict], Callable[[dict], list[str]]]] = {
    "prog": (prog_record, prog_text),
    "map": (map_record, map_text),
    "link": (link_record, link_text),
}


def cmd_list(args: argparse.Namespace) -> int:
    """``purebpf prog|map|link list [ID]``."""
    record, text = LISTINGS[args.kind]
    records = [record(fd.raw) for _, fd in _open_objects(args.kind, args.id)]
    if getattr(args, "json", False):
        _print_json(records)
    else:
        for rec in records:
            print("\n".join(text(rec)))
    return 0


def register(subparsers: Any) -> None:
    """Add ``prog``, ``map`` and ``link``; each without a subcommand lists."""
    for kind, help_ in (("prog", "loaded BPF programs"), ("map", "BPF maps: list and dump"), ("link", "BPF links")):
        parser = subparsers.add_parser(kind, help=help_, description=f"{help_} (like `bpftool {kind}`)")
        _json_flag(parser)
        parser.set_defaults(func=cmd_list, kind=kind, id=None)
        sub = parser.add_subparsers(dest=f"{kind}_command", metavar="COMMAND")
        _list_parser(sub, kind, cmd_list)
        if kind == "map":
            dump = sub.add_parser("dump", help="print every key and value (decoded via BTF when the map has it)")
            dump.add_argument("target", nargs="+", metavar="ID|PINNED_PATH",
                              help="a map id or pinned path (also `id N` / `pinned PATH`)")
            _json_flag(dump)
            dump.set_defaults(func=cmd_map_dump)
