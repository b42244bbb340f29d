"""BTF that only names a generated program's functions (its func info), encoded in one step.

    data, ids = functions_btf([("interval_us_100000_1", 1, Linkage.GLOBAL), ("cb", 2, Linkage.STATIC)])

Every program ``purebpf trace`` loads carries such BTF, so that its functions have names (bpftool
shows them, ``fentry:bpf:NAME`` finds them) as bpftrace's do.  Each function takes ``long``
parameters and returns ``long``.  :class:`~purebpf.btf.builder.BTFBuilder` builds the same bytes,
but importing it (its type dataclasses) costs ~12 ms, a tenth of the tracer's start-up, for a few
dozen bytes.
"""

from __future__ import annotations

import struct
from array import array

from purebpf.btf.kinds import BTF_MAGIC, BTF_VERSION, HEADER_SIZE, IntEncoding, Kind, Linkage
from purebpf.errors import InvalidInputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

LONG_ID = 1  # type 1 is the ``long`` every parameter and return value has


def functions_btf(funcs: Sequence[tuple[str, int, Linkage]]) -> tuple[bytes, list[int]]:
    """BTF for functions given as (name, number of parameters, linkage): the bytes, and the FUNC type id
    of each function in order (what a func info record names)."""
    strings = bytearray(b"\0")

    def string(text: str) -> int:
        if not text.isidentifier() or not text.isascii():
            raise InvalidInputError(f"BTF function name {text!r} is not a C identifier")
        offset = len(strings)
        strings.extend(text.encode() + b"\0")
        return offset

    def info(kind: Kind, vlen: int = 0) -> int:
        return (int(kind) << 24) | vlen

    long_name = string("long")
    words = array("I", [long_name, info(Kind.INT), 8, (int(IntEncoding.SIGNED) << 24) | 64])
    ids, next_id = [], LONG_ID + 1
    for name, nparams, linkage in funcs:
        proto_id = next_id
        words.extend([0, info(Kind.FUNC_PROTO, nparams), LONG_ID])
        for i in range(nparams):
            words.extend([string(f"a{i}"), LONG_ID])
        words.extend([string(name), info(Kind.FUNC, int(linkage)), proto_id])
        ids.append(proto_id + 1)
        next_id += 2
    types = words.tobytes()
    header = struct.pack("=HBBIIIII", BTF_MAGIC, BTF_VERSION, 0, HEADER_SIZE, 0, len(types), len(types), len(strings))
    return header + types + bytes(strings), ids
