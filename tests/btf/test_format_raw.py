"""Raw output against ``bpftool btf dump file ... format raw``: the whole kernel, line for line."""

from __future__ import annotations

from purebpf.btf import BTFBuilder, Linkage, render_raw
from purebpf.btf.format_raw import raw_lines


def test_whole_kernel_matches_bpftool(kernel_btf, bpftool_raw):
    ours = render_raw(kernel_btf).splitlines()
    theirs = bpftool_raw.splitlines()
    assert len(ours) == len(theirs)
    mismatch = next(((a, b) for a, b in zip(ours, theirs, strict=True) if a != b), None)
    assert mismatch is None, f"first difference: ours {mismatch[0]!r} bpftool {mismatch[1]!r}"


def test_selected_types(kernel_btf):
    (pid_t,) = kernel_btf.find_ids("pid_t")
    lines = list(raw_lines(kernel_btf, [pid_t, 1]))
    assert lines[0] == f"[{pid_t}] TYPEDEF 'pid_t' type_id={kernel_btf.type_by_id(pid_t).type}"
    assert lines[1] == "[1] INT 'long unsigned int' size=8 bits_offset=0 nr_bits=64 encoding=(none)"


def test_kinds_the_kernel_lacks():
    b = BTFBuilder()
    i = b.add_int("int", 4, signed=True)
    v = b.add_var("counter", i, Linkage.EXTERN)
    b.add_datasec(".bss", [(v, 0, 4)])
    b.add_enum("big", {"NEG": -2, "HUGE": 1 << 40})
    b.add_fwd("maybe", union=True)
    lines = render_raw(b.to_btf()).splitlines()
    assert lines[1] == "[2] VAR 'counter' type_id=1, linkage=extern"
    assert lines[3] == "\ttype_id=2 offset=0 size=4 (VAR 'counter')"
    assert lines[4] == "[4] ENUM64 'big' encoding=SIGNED size=8 vlen=2"
    assert lines[5:7] == ["\t'NEG' val=-2LL", "\t'HUGE' val=1099511627776LL"]
    assert lines[7] == "[5] FWD 'maybe' fwd_kind=union"
