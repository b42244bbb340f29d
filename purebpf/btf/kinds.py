"""BTF wire-format constants (``include/uapi/linux/btf.h``): kinds, int encodings, linkages.

Kept apart from the type model so the reader's index can use them without
importing dataclasses.
"""

from __future__ import annotations

from enum import IntEnum

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
HEADER_SIZE = 24
MAX_VLEN = 0xFFFF


class Kind(IntEnum):
    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(IntEnum):
    """Bits of an INT's encoding field (BTF_INT_SIGNED, _CHAR, _BOOL)."""
    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class Linkage(IntEnum):
    """FUNC linkage (in vlen) and VAR linkage; the numbers are shared by both kinds."""
    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


# 32-bit words each kind carries after its 3-word header: (fixed, per vlen entry).
# The reader steps over types with these without decoding them.
WORDS_AFTER: dict[int, tuple[int, int]] = {
    Kind.UNKN: (0, 0),
    Kind.INT: (1, 0),
    Kind.PTR: (0, 0),
    Kind.ARRAY: (3, 0),
    Kind.STRUCT: (0, 3),
    Kind.UNION: (0, 3),
    Kind.ENUM: (0, 2),
    Kind.FWD: (0, 0),
    Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0),
    Kind.CONST: (0, 0),
    Kind.RESTRICT: (0, 0),
    Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 2),
    Kind.VAR: (1, 0),
    Kind.DATASEC: (0, 3),
    Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (1, 0),
    Kind.TYPE_TAG: (0, 0),
    Kind.ENUM64: (0, 3),
}
