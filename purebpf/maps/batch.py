"""Batch element operations: BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH.

One syscall moves many entries, which is what makes dumping a 100k-entry hash
map cheap.  Kernels before 5.6, and map types without batch support, answer
EINVAL or ENOTSUPP on the first call: the map then remembers it per command
(``Map._no_batch``) and these functions fall back to one syscall per key, so
callers never need to care.
"""

from __future__ import annotations

import ctypes
import errno as E
from collections.abc import Iterator, Sequence

from purebpf.sys import Cmd, bpf_raw
from purebpf.sys.attrs import MapBatchAttr

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any

    from purebpf.maps.map import Map

ENOTSUPP = 524
UNSUPPORTED = (E.EINVAL, E.EOPNOTSUPP, ENOTSUPP)
DEFAULT_BATCH = 1024
MAX_BATCH = 1 << 20
F_LOCK = 4


class BatchUnsupported(Exception):
    """Internal signal: this kernel/map has no batch ops; use the per-key path."""


def _default_count(m: Map) -> int:
    return max(16, min(m.max_entries or DEFAULT_BATCH, DEFAULT_BATCH))


def lookup_batches(m: Map, batch_size: int = 0, *, delete: bool = False) -> Iterator[list[tuple[bytes, bytes]]]:
    """(key, value) byte pairs, one list per kernel batch.

    Raises BatchUnsupported before yielding anything when the kernel refuses.
    A hash bucket larger than the batch makes the kernel answer ENOSPC; the
    buffers then double and the same batch is asked again.
    """
    cmd = Cmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else Cmd.MAP_LOOKUP_BATCH
    ks, vs = m.key_size, m.value_bytes
    count = batch_size or _default_count(m)
    token = max(ks, 8)  # hash maps use a u32 bucket cursor, others the previous key
    in_tok, out_tok = ctypes.create_string_buffer(token), ctypes.create_string_buffer(token)
    keys, values = ctypes.create_string_buffer(ks * count), ctypes.create_string_buffer(vs * count)
    first = True
    while True:
        attr = MapBatchAttr(map_fd=m.fd, in_batch=0 if first else ctypes.addressof(in_tok),
                            out_batch=ctypes.addressof(out_tok), keys=ctypes.addressof(keys),
                            values=ctypes.addressof(values), count=count)
        ret, err = bpf_raw(cmd, attr)
        if ret < 0 and err == E.ENOSPC and attr.count == 0 and count < MAX_BATCH:
            count *= 2
            keys, values = ctypes.create_string_buffer(ks * count), ctypes.create_string_buffer(vs * count)
            continue
        if ret < 0 and err != E.ENOENT:
            if first and err in UNSUPPORTED:
                raise BatchUnsupported(err)
            raise m._elem_error(cmd, err, None)
        n = attr.count
        if n:
            kraw, vraw = keys.raw, values.raw
            yield [(kraw[i * ks:(i + 1) * ks], vraw[i * vs:(i + 1) * vs]) for i in range(n)]
        if ret < 0:  # ENOENT: that was the last batch
            return
        ctypes.memmove(in_tok, out_tok, token)
        first = False


def iter_batches(m: Map, batch_size: int = 0, *, delete: bool = False) -> Iterator[list[tuple[bytes, bytes]]]:
    """Like :func:`lookup_batches`, falling back to per-key lookups (and deletes)."""
    cmd = Cmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else Cmd.MAP_LOOKUP_BATCH
    if cmd not in m._no_batch:
        try:
            yield from lookup_batches(m, batch_size, delete=delete)
            return
        except BatchUnsupported:
            m._no_batch.add(cmd)
    count = batch_size or _default_count(m)
    chunk: list[tuple[bytes, bytes]] = []
    for k in list(m.keys_raw()):
        v = m._lookup(k)
        if v is None:
            continue
        if delete:
            m._delete(k, k.hex())
        chunk.append((k, v))
        if len(chunk) >= count:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _join(parts: Sequence[bytes]) -> ctypes.Array:
    data = b"".join(parts)
    return ctypes.create_string_buffer(data, len(data))


def update(m: Map, encoded: Sequence[tuple[bytes, bytes]], flags: int = 0,
           shown: Sequence[Any] | None = None) -> int:
    """Write every (key, value) pair; returns how many were written.

    A failure names the first entry the kernel did not write (earlier ones
    stay written, as with per-key updates)."""
    if not encoded:
        return 0
    shown = shown if shown is not None else [k.hex() for k, _ in encoded]
    # batches take no NOEXIST/EXIST flags: those updates go key by key
    if Cmd.MAP_UPDATE_BATCH not in m._no_batch and not flags & ~F_LOCK:
        keys, values = _join([k for k, _ in encoded]), _join([v for _, v in encoded])
        attr = MapBatchAttr(map_fd=m.fd, keys=ctypes.addressof(keys), values=ctypes.addressof(values),
                            count=len(encoded), elem_flags=flags)
        ret, err = bpf_raw(Cmd.MAP_UPDATE_BATCH, attr)
        if ret == 0:
            return len(encoded)
        if err not in UNSUPPORTED:
            raise m._elem_error(Cmd.MAP_UPDATE_ELEM, err, shown[attr.count], flags)
        # refused outright (count is not written back then): redo key by key, which is
        # idempotent for the entries written already, and which names a bad entry (EINVAL)
        if err != E.EINVAL:
            m._no_batch.add(Cmd.MAP_UPDATE_BATCH)
    for (k, v), s in zip(encoded, shown, strict=True):
        m._update(k, v, flags, s)
    return len(encoded)


def delete(m: Map, keys: Sequence[bytes], shown: Sequence[Any] | None = None) -> int:
    """Delete every key that exists; returns how many were deleted."""
    shown = shown if shown is not None else [k.hex() for k in keys]
    done, start = 0, 0
    while start < len(keys) and Cmd.MAP_DELETE_BATCH not in m._no_batch:
        buf = _join(keys[start:])
        attr = MapBatchAttr(map_fd=m.fd, keys=ctypes.addressof(buf), count=len(keys) - start)
        ret, err = bpf_raw(Cmd.MAP_DELETE_BATCH, attr)
        if ret < 0 and err in UNSUPPORTED:
            # count is not written back: go key by key from ``start`` (keys deleted
            # meanwhile just report absent, so the total stays right)
            if err != E.EINVAL:
                m._no_batch.add(Cmd.MAP_DELETE_BATCH)
            break
        done += attr.count
        if ret == 0:
            return done
        if err == E.ENOENT:  # that key was absent: skip it, go on with the rest
            start += attr.count + 1
            continue
        raise m._elem_error(Cmd.MAP_DELETE_ELEM, err, shown[start + attr.count])
    for k, s in zip(keys[start:], shown[start:], strict=True):
        done += m._delete(k, s)
    return done
