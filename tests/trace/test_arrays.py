"""Arrays as current bpftrace has them: arrays of arrays and of structs indexed, copied into
variables and maps and printed; arrays compared element by element; constant indices checked
when the program is compiled, variable ones when it runs; zero-length (flexible) arrays read
unchecked; float members read as nothing.  The traced program is arrays.c."""

from __future__ import annotations

import json
import subprocess

import pytest

from .conftest import HERE
from .test_runtime import ours

DEFS = ("struct grid { int cell[2][3]; }; "
        "struct item { unsigned short id; struct { int v; char tag[4]; } in; }; "
        "struct box { long n; struct item items[5]; union { int i; float f; } u; int tail[0]; }; ")


@pytest.fixture(scope="module")
def arrays(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("arrays") / "arrays"
    subprocess.run(["gcc", "-O0", "-o", str(out), str(HERE / "arrays.c")], check=True)
    return str(out)


def run(arrays: str, body: str, *extra: str) -> subprocess.CompletedProcess:
    program = DEFS + f"uprobe:{arrays}:inspect {{ $a = (struct box *)arg0; $b = (struct box *)arg1; " \
                     f"$g = (struct grid *)arg2; {body} exit(); }}"
    return ours(program, arrays, *extra)


def lines(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_arrays_of_arrays_are_indexed_in_place_in_variables_and_in_maps(arrays):
    proc = run(arrays, '$c = $g.cell; @m[1] = $g.cell; $v = @m[1]; $i = 1; $j = 2; '
                       'printf("%d %d %d %d %d %d\\n", $g.cell[1][2], $c[1][0], @m[1][0][2], $v[1][1], '
                       '$g.cell[$i][$j], $c[$i][$j - 1]); @row = $g.cell[1]; @all = $g.cell;')
    out = lines(proc)
    assert "12 10 2 11 12 11" in out
    assert "@row: [10,11,12]" in out
    assert "@all: [[0,1,2],[10,11,12]]" in out
    assert "@m[1]: [[0,1,2],[10,11,12]]" in out


def test_arrays_of_structs_are_indexed_copied_and_printed(arrays):
    proc = run(arrays, '$items = $a.items; $i = 3; @m[0] = $a.items; @k[$a.items[1]] = 1; '
                       'printf("%d %d %s %d %d %d\\n", $a.items[2].id, $a.items[$i].in.v, $a.items[4].in.tag, '
                       '$items[$i].id, @m[0][1].in.v, $b.items[4].in.v); '
                       'print($a.items[0]); @t = (7, $a.items[1].in);')
    out = lines(proc)
    assert "202 -3 t4 203 -1 77" in out
    assert "{ .id = 200, .in = { .v = 0, .tag = t0 } }" in out
    assert "@t: (7, { .v = -1, .tag = t1 })" in out
    assert "@k[{ .id = 201, .in = { .v = -1, .tag = t1 } }]: 1" in out
    assert any(line.startswith("@m[0]: [{ .id = 200, .in = { .v = 0, .tag = t0 } },{ .id = 201,") for line in out)


def test_declared_array_of_structs_variable(arrays):
    proc = run(arrays, 'let $w: struct item[5]; $w = $a.items; printf("%d %s\\n", $w[4].id, $w[2].in.tag);')
    assert "204 t2" in lines(proc)


def test_arrays_compare_element_by_element(arrays):
    proc = run(arrays, 'printf("%d %d %d %d\\n", $a.items[1].in.tag == $b.items[1].in.tag, $g.cell[0] == $g.cell[1], '
                       '$g.cell[0] != $g.cell[1], $a.tail == $b.tail); $c = $g.cell; '
                       'if ($c == $g.cell) { printf("same grid\\n"); }')
    out = lines(proc)
    assert "1 0 1 1" in out
    assert "same grid" in out


@pytest.mark.parametrize("body, message", [
    ("@x = $g.cell[2][0];", "ERROR: the index 2 is out of bounds for array of size 2"),
    ("@x = $g.cell[1][3];", "ERROR: the index 3 is out of bounds for array of size 3"),
    ("@x = $a.items[-1].id;", "ERROR: the index -1 is out of bounds for array of size 5"),
    ("@x = $g.cell[0] == $g.cell;", "Only arrays of same size support comparison operators"),
    ("@x = $g.cell[0] < $g.cell[1];", "The < operator can not be used on arrays"),
    ("@x = $a.items == $b.items;", "Only arrays of same sized integer support comparison operators"),
])
def test_array_mistakes_are_errors_with_their_place(arrays, body, message):
    proc = run(arrays, body)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert "~~" in proc.stderr


def test_a_variable_index_past_the_end_warns_at_run_time(arrays):
    proc = run(arrays, '$i = 7; $c = $g.cell; @in_memory = $g.cell[$i][0]; @on_stack = $c[1][$i]; @ok = $c[1][2];')
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("WARNING: Array access out of bounds. This can lead to unexpected results.") == 2
    assert "@on_stack: 0" in proc.stdout and "@ok: 12" in proc.stdout


def test_a_zero_length_array_reads_what_follows_the_struct(arrays):
    proc = run(arrays, '$k = 2; printf("%d %d\\n", $a.tail[0], $a.tail[$k]);')
    assert proc.returncode == 0, proc.stderr
    assert "40 42" in lines(proc)
    assert "WARNING" not in proc.stderr


def test_a_float_member_reads_as_nothing(arrays):
    proc = run(arrays, "print($a.u); print(*$a);", "-f", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert records[0] == {"type": "value", "data": {"i": 9, "f": None}}
    assert records[1]["data"]["u"] == {"i": 9, "f": None}
    text = run(arrays, "print($a.u);")
    assert "{ .i = 9, .f =  }" in lines(text)


def test_integer_literals_cast_to_arrays_take_their_size():
    proc = ours('BEGIN { $i = 1; printf("%x %x %x\\n", ((int8[8])12345)[0], ((uint8[])12345)[$i], '
                '((int16[4])-2)[3]); exit(); }')
    assert "39 30 ffffffff" in lines(proc)


@pytest.mark.parametrize("definition, name, members", [
    ("struct fl { char c; float f; short s; double d; int arr[2][3]; long double ld; char end; }", "fl",
     ["c", "f", "s", "d", "arr", "ld", "end"]),
    ("struct nest { char c; struct { short s; char t[3]; } in[3]; int tail[0]; }", "nest", ["c", "in", "tail"]),
])
def test_floats_and_arrays_of_structs_are_laid_out_as_gcc_does(tmp_path, definition, name, members):
    from purebpf.trace.cstructs import parse_structs
    from purebpf.trace.structs import StructTable

    from .test_structs import layout_by_gcc

    table = StructTable()
    parse_structs([definition], table)
    t = table.find(name)
    assert [t.size] + [table.member(t, m).offset for m in members] == layout_by_gcc(tmp_path, definition, name,
                                                                                     members)
