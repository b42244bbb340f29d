"""IntConst / IntFlagConst behave as the IntEnum / IntFlag they replace: the
same class body is built both ways and every operation callers use is compared."""

import copy
import enum
import json
import pickle
import subprocess
import sys

import pytest

from purebpf._intconst import IntConst, IntFlagConst
from purebpf.asm import R1, R10, AluOp, Reg, Size
from purebpf.sys import MapFlags, ProgType


def _build(base, body: dict):
    ns = type(base).__prepare__("Kind", (base,))  # enum's namespace records the members' order
    for key, value in body.items():
        ns[key] = value
    return type(base)("Kind", (base,), ns)


def _pair(base_new, base_old, body: dict):
    return _build(base_new, body), _build(base_old, body)


BODY = {"A": 0, "B": 5, "C": 7, "ALIAS": 5, "helper": staticmethod(lambda: 1)}
FLAGS = {"NONE": 0, "X": 1, "Y": 2, "Z": 8}


def test_members_behave_as_intenum() -> None:
    new, old = _pair(IntConst, enum.IntEnum, BODY)
    for n, o in zip(new, old, strict=True):
        assert (n.name, n.value, int(n), str(n), repr(n), format(n), f"{n:>4}|{n:#x}") == \
               (o.name, o.value, int(o), str(o), repr(o), format(o), f"{o:>4}|{o:#x}")
        assert hash(n) == hash(o) == hash(int(o)) and n == o
        assert json.dumps([n]) == json.dumps([o])
    assert [m.name for m in new] == [m.name for m in old] == ["A", "B", "C"]  # aliases are not listed
    assert new.ALIAS is new.B and new["ALIAS"] is new.B and new(5) is new.B and new(new.C) is new.C
    assert list(new.__members__) == list(old.__members__)
    assert len(new) == len(old) and bool(new)
    assert new.helper() == 1 and "helper" not in new.__members__  # methods are not members
    assert _build(IntConst, {"_private": 3})._private == 3 and not len(_build(IntConst, {"_private": 3}))
    assert isinstance(new.B, new) and isinstance(new.B, int) and type(new.B + 1) is int
    assert max(new) is new.C and sorted([new.C, new.A]) == [new.A, new.C]


def test_lookup_errors_match_enum() -> None:
    new, old = _pair(IntConst, enum.IntEnum, BODY)
    for cls in (new, old):
        with pytest.raises(ValueError, match="6 is not a valid Kind"):
            cls(6)
        with pytest.raises(KeyError):
            cls["NOPE"]
    assert 5 in new and new.B in new and 6 not in new and "B" not in new
    with pytest.raises(AttributeError):
        new.B = 6


def test_copies_and_pickles_are_the_member() -> None:
    assert copy.copy(ProgType.XDP) is ProgType.XDP and copy.deepcopy([ProgType.XDP])[0] is ProgType.XDP
    assert pickle.loads(pickle.dumps(ProgType.KPROBE)) is ProgType.KPROBE


def test_flags_behave_as_intflag() -> None:
    new, old = _pair(IntFlagConst, enum.IntFlag, FLAGS)
    for expr in (lambda c: c.X | c.Y, lambda c: c.X | 8, lambda c: 2 | c.X, lambda c: (c.X | c.Z) & c.Z,
                 lambda c: c.Z ^ c.X, lambda c: ~c.X, lambda c: c(3), lambda c: c(0), lambda c: c(16), lambda c: c(17),
                 lambda c: c(-2)):
        n, o = expr(new), expr(old)
        assert type(n) is new and (int(n), n.name, str(n), repr(n)) == (int(o), o.name, str(o), repr(o))
    assert [m.name for m in new] == [m.name for m in old] == ["X", "Y", "Z"]  # single bits only
    assert new.X in (new.X | new.Y) and new.Z not in (new.X | new.Y)
    assert list(new(11)) == [new.X, new.Y, new.Z] and not new.NONE


def test_purebpf_constants_keep_enum_features() -> None:
    assert str(R1) == "r1" and f"{R1}" == "r1" and f"{R1:d}" == "1"  # Reg's own __str__
    assert [r.name for r in Reg][-1] == "R10" and R10 is Reg.R10
    assert Size.of(8) is Size.DW and Size.DW.nbytes == 8
    assert AluOp(0x10) is AluOp.SUB and AluOp.SUB.name == "SUB"
    assert ProgType(5) is ProgType.TRACEPOINT and ProgType.TRACEPOINT.name.lower() == "tracepoint"
    both = MapFlags.RDONLY_PROG | MapFlags.MMAPABLE
    assert both.name == "RDONLY_PROG|MMAPABLE" and both & MapFlags.MMAPABLE


STARTUP_MODULES = ["purebpf.cli.main", "purebpf.tools.opensnoop", "purebpf.tools.execsnoop", "purebpf.tools.runqlat",
                   "purebpf.links.tracepoint", "purebpf.links.perf_attach", "purebpf.sys.tracepoint_format",
                   "purebpf.btf.offsets"]


def test_start_up_path_imports_no_enum() -> None:
    """What these classes (and _memo, _lazy) are for: the ready tools' modules
    load without ``enum``, ``functools``, ``collections`` or ``importlib``."""
    code = (f"import sys; sys.path[:0] = {sys.path!r}\n" + "".join(f"import {m}\n" for m in STARTUP_MODULES) +
            "print(sorted({'enum', 'functools', 'collections', 'importlib', 're', 'typing'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
