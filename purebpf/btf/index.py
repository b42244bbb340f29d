"""Where each type starts and which types carry which name, without decoding any.

One pass over the type section steps from record to record using only each
record's ``info`` word, recording the word offset of every type.  The name
index is a sorted ``array('Q')`` of ``name_off << 32 | local index`` so a name
lookup is two bisections and the whole index for vmlinux fits in ~1.5 MB.
Both are cached on disk (see :mod:`purebpf.btf.cache`).
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left

from purebpf.btf import cache
from purebpf.btf.kinds import WORDS_AFTER
from purebpf.errors import InvalidInputError

_FORMAT_VERSION = 1
_CACHE_KIND = f"btfidx{_FORMAT_VERSION}"
_CACHE_MIN_BYTES = 1 << 20  # module BTF is small: re-scanning beats a file per module
_HEAD = struct.Struct("=8sII")
_MAGIC = b"PBTFIDX\x01"

# step tables indexed by kind (5 bits): words of fixed trailer, words per vlen entry
_FIXED = [3 + WORDS_AFTER.get(k, (0, 0))[0] for k in range(32)]
_PER = [WORDS_AFTER.get(k, (0, 0))[1] for k in range(32)]
_KNOWN = frozenset(WORDS_AFTER)


class TypeIndex:
    """Word offsets of the types in one blob, and its name index."""

    __slots__ = ("offsets", "names")

    def __init__(self, offsets: array, names: array) -> None:
        self.offsets = offsets  # array('I'): word offset in the type section of local type i
        self.names = names      # array('Q'): sorted name_off << 32 | local index, named types only

    def __len__(self) -> int:
        return len(self.offsets)

    def ids_named(self, name_off: int) -> list[int]:
        """Local indexes of the types whose name is at ``name_off``."""
        names = self.names
        lo = bisect_left(names, name_off << 32)
        hi = bisect_left(names, (name_off + 1) << 32, lo)
        return [names[i] & 0xFFFFFFFF for i in range(lo, hi)]

    def to_bytes(self) -> bytes:
        return _HEAD.pack(_MAGIC, len(self.offsets), len(self.names)) + self.offsets.tobytes() + self.names.tobytes()

    @classmethod
    def from_bytes(cls, payload: bytes) -> TypeIndex | None:
        """Decode a cached index; None if it is not one of ours (then we rescan)."""
        if len(payload) < _HEAD.size:
            return None
        magic, n_types, n_names = _HEAD.unpack_from(payload)
        if magic != _MAGIC or len(payload) != _HEAD.size + 4 * n_types + 8 * n_names:
            return None
        offsets, names = array("I"), array("Q")
        end = _HEAD.size + 4 * n_types
        offsets.frombytes(payload[_HEAD.size:end])
        names.frombytes(payload[end:])
        return cls(offsets, names)


def scan(words) -> TypeIndex:
    """Index a type section given as a sequence of native-order 32-bit words."""
    offsets = array("I")
    keyed = []
    fixed, per, known = _FIXED, _PER, _KNOWN
    add_offset, add_key = offsets.append, keyed.append
    i, n, local = 0, len(words), 0
    while i < n:
        if i + 3 > n:
            raise InvalidInputError(f"BTF type section ends inside type #{local}: blob truncated or corrupt")
        info = words[i + 1]
        kind = (info >> 24) & 0x1F
        if kind not in known:
            raise InvalidInputError(f"BTF type #{local} has unknown kind {kind}: BTF newer than purebpf?")
        add_offset(i)
        name_off = words[i]
        if name_off:
            add_key(name_off << 32 | local)
        i += fixed[kind] + per[kind] * (info & 0xFFFF)
        local += 1
    if i != n:
        raise InvalidInputError("BTF type section ends inside a type: blob truncated or corrupt")
    keyed.sort()
    return TypeIndex(offsets, array("Q", keyed))


def load_or_scan(words, blob: bytes | memoryview) -> TypeIndex:
    """The index of ``blob``'s types from the cache, else by scanning (and then cached)."""
    cacheable = len(blob) >= _CACHE_MIN_BYTES
    key = cache.blob_key(blob) if cacheable else ""
    if cacheable:
        payload = cache.read(_CACHE_KIND, key)
        if payload is not None:
            index = TypeIndex.from_bytes(payload)
            if index is not None and (not index.offsets or index.offsets[-1] < len(words)):
                return index
    index = scan(words)
    if cacheable:
        cache.write(_CACHE_KIND, key, index.to_bytes())
    return index
