"""Language features of current bpftrace that 0.17 (the oracle here) lacks or
prints differently: each program runs for real (BEGIN through
BPF_PROG_TEST_RUN) and its output is compared with what current bpftrace
prints for it."""

from __future__ import annotations

import io

import pytest

from purebpf.trace.compiler import compile_program
from purebpf.trace.location import ProgramError
from purebpf.trace.runtime import Tracer


def run(program: str, *, json_output: bool = False, params: list[str] | None = None,
        named: dict[str, str] | None = None) -> tuple[str, int]:
    out = io.StringIO()
    compiled = compile_program(program, params=params, named=named)
    with Tracer(compiled, out=out, json_output=json_output) as tracer:
        code = tracer.run()
    return out.getvalue(), code


def lines(program: str, **kw) -> list[str]:
    return [line for line in run(program, **kw)[0].splitlines() if line]


def error(program: str) -> str:
    with pytest.raises(ProgramError) as exc:
        compile_program(program)
    return str(exc.value)


CASES = [
    # booleans: literals, comparisons, casts, map keys and values
    ("begin { print((true, false)); print(1 < 2); print(!1); @a[true] = false; }",
     ["(true, false)", "true", "false", "@a[true]: false"]),
    ("begin { @a = count(); @b = sum(0); print(((bool)@a, (bool)@b)); clear(@a); clear(@b); }", ["(true, false)"]),
    # block and if expressions, discards
    ("begin { print({ $x = 1; print(\"bob\"); $x > 1 }); _ = { print(7); 1 }; }", ["bob", "false", "7"]),
    ("begin { $v = if (1 > 2) { \"a\" } else { \"bc\" }; print($v); }", ["bc"]),
    # for loops over maps (callbacks) and ranges (bpf_loop), with break/continue/return
    ("begin { @m[16,17] = 32; for ($kv : @m) { printf(\"%d %d %d\\n\", $kv.0.0, $kv.0.1, $kv.1); } clear(@m); }",
     ["16 17 32"]),
    ("begin { $s = 0; for ($i : 1..5) { if ($i == 2) { continue; } $s += $i; } print($s); }", ["8"]),
    ("begin { for ($i : 0..10) { if ($i == 3) { break; } print($i); } print(\"done\"); }", ["0", "1", "2", "done"]),
    ("begin { @m[1] = 1; for ($kv : @m) { print(\"in\"); return; } print(\"after\"); }", ["in", "@m[1]: 1"]),
    ("begin { @c[1] = count(); @c[1] = count(); @c[2] = count(); for ($kv : @c) { if ($kv.0 == 1) { print($kv); } } "
     "print(len(@c)); clear(@c); }", ["(1, 2)", "2"]),
    # macros: by-reference variables and maps, hygiene, nesting
    ("macro inc($x) { $x += 1; $x } begin { $a = 1; $b = inc($a); print(($a, $b)); }", ["(2, 2)"]),
    ("macro add1(x) { x + 1 } macro add2(y) { y + add1(y) } begin { print(add2(1)); }", ["3"]),
    ("macro set(@x) { @x[1] = 2; } begin { @a[1] = 1; set(@a); }", ["@a[1]: 2"]),
    ("macro inc(x) { $y = x + 1; $y } begin { $y = 2; $z = inc(5); print(($y, $z)); }", ["(2, 6)"]),
    # strings
    ("begin { print(strcontains(\"hello-test-world\", \"test\")); print(strcontains(\"ab\", \"abc\")); "
     "print(strlen(\"hello\")); print(strncmp(\"hello\", \"help\", 3)); $s = \"foo\"; printf(\"%c\\n\", $s[1]); }",
     ["true", "false", "5", "0", "o"]),
    # map functions
    ("begin { @a[1] = 1; $x = delete(@a, 2); $y = delete(@a, 1); print(($x, $y, has_key(@a, 1))); }",
     ["(false, true, false)"]),
    ("begin { @[\"a\"] = avg(10); @[\"b\"] = avg(20); @[\"c\"] = avg(30); print(@, 2, 10); clear(@); }",
     ["@[b]: 2", "@[c]: 3"]),
    ("begin { print(@); } end { @ = stats(1); }",
     ["@: { .count = 0, .average = 0, .total = 0 }", "@: { .count = 1, .average = 1, .total = 1 }"]),
    # records and tuples
    ("begin { $v = (x=1, y=2); $t = (a=0, c=\"str\", e=$v); print($t); print($t.e.y); }",
     ["{ .a = 0, .c = str, .e = { .x = 1, .y = 2 } }", "2"]),
    ("begin { $a = (\"hi\", 1); print($a); $a = (\"hellolongstr\", 2); print($a); }", ["(hi, 1)", "(hellolongstr, 2)"]),
    # integers: bswap, casts, pointer arithmetic, signed printing, arrays
    ("begin { printf(\"%llx %x\\n\", bswap(0x1122334455667788), bswap((int16)0x1234)); }", ["8877665544332211 3412"]),
    ("begin { $a = (int32*)0x32; $a++; print($a); $b = (uint64)3 - (uint64)5; printf(\"%d %lu\\n\", $b, $b); }",
     ["0x36", "-2 18446744073709551614"]),
    ("begin { print((int8[])\"hi\"); @a = (bool[2])(uint16)1; }", ["[104,105,0]", "@a: [true,false]"]),
    ("begin { printf(\"%rx|%rh|%r\\n\", buf(\"Hi\\0\", 3), buf(\"Hi\", 2), buf(\"ok\", 2)); }",
     ["\\x48\\x69\\x00|48 69|ok"]),
    # enums from the program's C definitions
    ("enum Foo { ONE = 1, TWO, OTHER = 99 }; begin { printf(\"%d %s %s\\n\", ONE, TWO, (enum Foo)99); }",
     ["1 TWO OTHER"]),
    # fine-grained histograms
    ("begin { @h = hist(20, 2); }", ["@h:", "[20, 24)               1 |" + "@" * 52 + "|"]),
]


@pytest.mark.parametrize(("program", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_program_prints_what_current_bpftrace_prints(program, expected):
    assert lines(program) == expected


def test_exit_code_and_exit_stops_the_probe():
    out, code = run("begin { @x = 1; exit(69); @x = 2; }")
    assert code == 69 and "@x: 1" in out


def test_positional_and_named_parameters():
    out = lines('begin { printf("%d %o %s\\n", $1, $2, str($3)); print((getopt("aa", 1), getopt("bb"), '
                'getopt("cc", "x"))); }', params=["123", "0775", "9"], named={"aa": "20", "bb": "true"})
    assert out == ["123 775 9", "(20, true, x)"]


def test_json_output_of_values_records_and_stats():
    out = run('begin { print((true, 1, "s")); @r = (a=1, b=(2, 3)); @s = stats(2); @s = stats(4); '
              '@h = hist(2); @h = hist(9); }', json_output=True)[0].splitlines()
    assert out == ['{"type": "value", "data": [true,1,"s"]}',
                   '{"type": "hist", "data": {"@h": [{"min": 2, "max": 3, "count": 1}, '
                   '{"min": 4, "max": 7, "count": 0}, {"min": 8, "max": 15, "count": 1}]}}',
                   '{"type": "map", "data": {"@r": {"a": 1, "b": [2,3]}}}',
                   '{"type": "stats", "data": {"@s": {"count": 2, "average": 3, "total": 6}}}']


ERRORS = [
    ("begin { $x = 1; $x = \"a\"; }", "Type mismatch for $x"),
    ("begin { @g = 2; if (has_key(@g, 2)) { } }", "call to has_key() expects a map with explicit keys"),
    ("begin { @a = 1; print(len(@a)); }", "call to len() expects a map with explicit keys"),
    ("begin { system(\"ls\"); }", "system() is an unsafe function being used in safe mode"),
    ("begin { print(kaddr(\"no_such_symbol_zz\")); }", "Failed to resolve kernel symbol: no_such_symbol_zz"),
    ("begin { print(nope); }", "Unknown identifier: 'nope'"),
    ("begin { for ($kv : @nope) { } }", "Undefined map: @nope"),
]


@pytest.mark.parametrize(("program", "message"), ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_semantic_errors_name_the_problem(program, message):
    text = error(program)
    assert f"ERROR: {message}" in text and text.startswith("stdin:1:")
