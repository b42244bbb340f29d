"""Is a map type available?  Create the smallest valid map of that type.

Each type has its own idea of "valid": queues and stacks take no key, ring
buffers a page-sized ``max_entries``, map-in-map an inner map, local storage
BTF for its key and value.  Struct_ops maps need a kernel struct type id; id 1
is never one, so a kernel that knows the type answers ENOTSUPP (libbpf's trick).
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from contextlib import ExitStack

from purebpf.btf.builder import BTFBuilder
from purebpf.btf.load import load_btf
from purebpf.errors import BPFError, SyscallError
from purebpf.features.reasons import ENOTSUPP, explain
from purebpf.features.report import Feature
from purebpf.maps import Map
from purebpf.maps.map import MapSpec
from purebpf.sys import FD, Cmd, MapFlags, MapType, bpf

PAGE = mmap.PAGESIZE


def _spec(t: MapType, key: int = 4, value: int = 4, entries: int = 1, **kw) -> MapSpec:
    return MapSpec(t, key, value, entries, name="purebpf_probe", **kw)


def _with_btf(t: MapType, stack: ExitStack) -> MapSpec:
    """Local storage needs BTF for key and value; ``[1] int`` serves as both."""
    builder = BTFBuilder()
    int_id = builder.add_int("int", 4, signed=True)
    btf = load_btf(builder.to_bytes())
    stack.callback(btf.close)
    return _spec(t, 4, 4, 0, flags=MapFlags.NO_PREALLOC, btf_fd=btf.raw, btf_key_type_id=int_id,
                 btf_value_type_id=int_id)


def _map_in_map(t: MapType, stack: ExitStack) -> MapSpec:
    inner = stack.enter_context(Map(MapType.ARRAY, 4, 4, 1, name="purebpf_inner"))
    return _spec(t, inner_map_fd=inner.fd)


_SPECS: dict[MapType, Callable[[MapType, ExitStack], MapSpec]] = {
    MapType.LPM_TRIE: lambda t, s: _spec(t, 8, 8, flags=MapFlags.NO_PREALLOC),
    MapType.STACK_TRACE: lambda t, s: _spec(t, 4, 8),
    MapType.QUEUE: lambda t, s: _spec(t, 0),
    MapType.STACK: lambda t, s: _spec(t, 0),
    MapType.BLOOM_FILTER: lambda t, s: _spec(t, 0),
    MapType.RINGBUF: lambda t, s: _spec(t, 0, 0, PAGE),
    MapType.USER_RINGBUF: lambda t, s: _spec(t, 0, 0, PAGE),
    MapType.ARENA: lambda t, s: _spec(t, 0, 0, 1, flags=MapFlags.MMAPABLE),
    MapType.CGROUP_STORAGE: lambda t, s: _spec(t, 16, 8, 0),
    MapType.PERCPU_CGROUP_STORAGE: lambda t, s: _spec(t, 16, 8, 0),
    MapType.SK_STORAGE: _with_btf,
    MapType.INODE_STORAGE: _with_btf,
    MapType.TASK_STORAGE: _with_btf,
    MapType.CGRP_STORAGE: _with_btf,
    MapType.ARRAY_OF_MAPS: _map_in_map,
    MapType.HASH_OF_MAPS: _map_in_map,
}
# the kernel answers ENOTSUPP when it knows struct_ops maps but BTF id 1 is no struct_ops type
_STRUCT_OPS_VALUE_TYPE_ID = 1


def _create(spec: MapSpec) -> None:
    attr = spec.attr()
    if spec.type == MapType.STRUCT_OPS:
        attr.btf_vmlinux_value_type_id = _STRUCT_OPS_VALUE_TYPE_ID
    FD(bpf(Cmd.MAP_CREATE, attr, f"{spec.type.name.lower()} probe map")).close()


def probe_map_type(map_type: MapType) -> Feature:
    name = map_type.name.lower()
    try:
        with ExitStack() as stack:
            _create(_SPECS.get(map_type, lambda t, s: _spec(t))(map_type, stack))
    except SyscallError as exc:
        if map_type == MapType.STRUCT_OPS and exc.errno == ENOTSUPP:
            return Feature(name, True)
        return Feature(name, False, explain("map", exc.errno))
    except BPFError as exc:  # the BTF this type needs was refused: the kernel is too old for it
        return Feature(name, False, f"EINVAL: the BTF this map type needs was refused ({exc})")
    return Feature(name, True)


def probe_map_types() -> dict[str, Feature]:
    return {t.name.lower(): probe_map_type(t) for t in MapType if t != MapType.UNSPEC}
