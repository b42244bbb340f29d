"""BPF maps: one class owning one map fd, typed by codecs.

``Map(MapType.X, key_size, value_size, max_entries)`` returns the subclass
for type X (per-CPU, queue, LPM trie, ...); the subclasses are importable from
here for isinstance checks and their extra methods.
"""

from __future__ import annotations

from purebpf.maps.codec import BytesCodec, Codec, CtypesCodec, FdCodec, IntCodec, StructCodec
from purebpf.maps.map import KeyExistsError, Map, MapSpec, MissingKeyError, map_class
from purebpf.sys.constants import MapFlags, MapType, UpdateFlags

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any

    from purebpf.maps.array import ArrayMap
    from purebpf.maps.bloom import BloomFilterMap
    from purebpf.maps.btf_codec import BTFCodec
    from purebpf.maps.fd_array import CgroupArray, PerfEventArray, ProgArray
    from purebpf.maps.lpm import LpmKeyCodec, LpmTrieMap
    from purebpf.maps.map_of_maps import ArrayOfMaps, HashOfMaps
    from purebpf.maps.percpu import PerCPUArrayMap, PerCPUHashMap, PerCPUMap
    from purebpf.maps.queue import QueueMap, StackMap
    from purebpf.maps.ringbuf import RingBufMap
    from purebpf.maps.sockmap import SockHash, SockMap
    from purebpf.maps.stack_trace import StackTraceMap

# subclass name -> module, imported on first attribute access (keeps `import purebpf.maps` cheap)
_LAZY = {
    "ArrayMap": "array", "BloomFilterMap": "bloom", "CgroupArray": "fd_array", "PerfEventArray": "fd_array",
    "ProgArray": "fd_array", "LpmKeyCodec": "lpm", "LpmTrieMap": "lpm", "ArrayOfMaps": "map_of_maps",
    "HashOfMaps": "map_of_maps", "PerCPUArrayMap": "percpu", "PerCPUHashMap": "percpu", "PerCPUMap": "percpu",
    "QueueMap": "queue", "StackMap": "queue", "RingBufMap": "ringbuf", "SockHash": "sockmap",
    "SockMap": "sockmap", "StackTraceMap": "stack_trace", "BTFCodec": "btf_codec",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'purebpf.maps' has no attribute '{name}'")
    from purebpf._lazy import import_module

    return getattr(import_module(f"purebpf.maps.{module}"), name)


__all__ = [
    "ArrayMap", "ArrayOfMaps", "BTFCodec", "BloomFilterMap", "BytesCodec", "CgroupArray", "Codec", "CtypesCodec",
    "FdCodec", "HashOfMaps", "IntCodec", "KeyExistsError", "LpmKeyCodec", "LpmTrieMap", "Map", "MapFlags", "MapSpec",
    "MapType", "MissingKeyError", "PerCPUArrayMap", "PerCPUHashMap", "PerCPUMap", "PerfEventArray", "ProgArray",
    "QueueMap", "RingBufMap", "SockHash", "SockMap", "StackMap", "StackTraceMap", "StructCodec", "UpdateFlags",
    "map_class",
]
