"""Integer literal types and tuple layout as current bpftrace has them: a literal
takes the smallest signed type that holds it, a tuple is laid out as a C struct.
Layouts are checked against what gcc gives the same struct; programs run for real."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from purebpf.trace.semantic.scope import unify
from purebpf.trace.types import BOOL, Array, Int, Str, Tup, literal_type

from .test_language import error
from .test_semantics import lines


@pytest.mark.parametrize(("value", "expected"), [
    (0, "int8"), (1, "int8"), (-1, "int8"), (127, "int8"), (128, "int16"), (-129, "int16"),
    (100000, "int32"), (-5000000000, "int64"), ((1 << 63) - 1, "int64"), (1 << 63, "uint64"),
])
def test_literal_has_smallest_signed_type(value, expected):
    assert str(literal_type(value)) == expected


def test_promotion_holds_both_types():
    assert str(unify(Int(1, True), Int(4, True))) == "int32"
    assert str(unify(Int(1, True), Int(2, False))) == "int32"   # uint16 needs a signed 32-bit
    assert str(unify(Int(8, False), Int(1, False))) == "uint64"
    assert str(unify(Tup([Int(1), Str(3)]), Tup([Int(2), Str(7)]))) == "(int16,string[7])"


LAYOUTS = [  # (C members, purebpf types)
    (["int8_t", "int64_t", "int8_t", "int64_t"], [Int(1), Int(8), Int(1), Int(8)]),
    (["int8_t", "int16_t", "int32_t"], [Int(1), Int(2), Int(4)]),
    (["int32_t", "int16_t", "int8_t"], [Int(4), Int(2), Int(1)]),
    (["int8_t", "char[7]", "int8_t", "int32_t", "int64_t", "_Bool", "int16_t", "char[4]"],
     [Int(1), Str(7), Int(1), Int(4), Int(8), BOOL, Int(2), Str(4)]),
    (["int32_t", "int32_t[4]"], [Int(4), Array(Int(4), 4)]),
]


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("clang") is None, reason="needs a C compiler")
@pytest.mark.parametrize(("members", "types"), LAYOUTS)
def test_tuple_layout_is_c_struct_layout(members, types, tmp_path):
    decls = " ".join(f"{m.split('[')[0]} f{i}{'[' + m.split('[')[1] if '[' in m else ''};"
                     for i, m in enumerate(members))
    offsets = " ".join(f'printf("%zu ", offsetof(struct s, f{i}));' for i in range(len(members)))
    src = tmp_path / "layout.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n"
                   f"struct s {{ {decls} }};\n"
                   f'int main(void) {{ {offsets} printf("%zu\\n", sizeof(struct s)); return 0; }}\n')
    cc = shutil.which("gcc") or shutil.which("clang")
    subprocess.run([cc, "-o", str(tmp_path / "layout"), str(src)], check=True)
    *offs, size = map(int, subprocess.run([str(tmp_path / "layout")], capture_output=True, text=True,
                                          check=True).stdout.split())
    t = Tup(types)
    assert (t.offsets(), t.size) == (offs, size)


def test_sizeof_literals_comparisons_variables_and_tuples():
    assert lines('begin { $x = 1; $t = ((int8)1, (int16)1, (int32)1); $u = ((int32)1, (int16)1, (int8)1); '
                 '$a = ((int8)-100, (int8)100, "abcdef", 3, (int32)1, (int64)-10, (int8)10, (int16)-555, "abc"); '
                 'printf("%d %d %d %d %d %d\\n", sizeof($x), sizeof(1 == 1), sizeof($t), sizeof($u), sizeof($a), '
                 'sizeof(100000)); }') == ["1 1 8 8 32 4"]


def test_values_of_mixed_sizes_keep_working():
    """Values stand in 64-bit slots: a variable or map assigned a wider value, ++ past a literal's
    range and arithmetic on narrow casts give what bpftrace prints."""
    assert lines("begin { $x = 1; $x = 100000; $y = 1; $y++; $y += 200; $z = 127; $z++; "
                 "@m = 1; @m = -5000000000; print(($x, $y, $z, @m, (int8)100 + (int8)100, 1 + 300)); "
                 "clear(@m); }") == ["(100000, 202, 128, -5000000000, 200, 301)"]


def test_packed_tuples_round_trip_everywhere():
    """Elements of every size, next to each other, through variables, map keys and values, printf and
    element reads: each one comes back as written."""
    out = lines('begin { $a = ((int8)-100, (int8)100, "abcdef", 3, (int32)1, (int64)-10, (int8)10, (int16)-555, '
                '"abc"); print($a); @v = $a; @k[$a] = 1; printf("%d %s %d %s\\n", $a.7, $a.2, $a[3], $a.8); '
                '@s[$a.2] = 1; @s[$a.8] = 2; $t = (1, "a"); $t = (-5000000000, "bcd"); print($t); '
                '@n = ((int8)1, ((int8)-20, (int8)30)); print(@n.1.0); }')
    assert out == ["(-100, 100, abcdef, 3, 1, -10, 10, -555, abc)", "-555 abcdef 3 abc", "(-5000000000, bcd)",
                   "-20", "@k[-100, 100, abcdef, 3, 1, -10, 10, -555, abc]: 1", "@n: (1, (-20, 30))",
                   "@s[abcdef]: 1", "@s[abc]: 2",
                   "@v: (-100, 100, abcdef, 3, 1, -10, 10, -555, abc)"]


def test_multi_keys_promote_and_stay_distinct():
    """``@g[1, "hi"]`` is keyed by an (int8,string[3]) tuple, widened by a later wider key; padding is
    zero, so the same key written twice is one element; ``for`` sees key and value in place."""
    out = lines('begin { @c[1, "hi", -7] = 3; @c[1000, "x", 5] = 4; @c[1, "hi", -7] = 5; '
                'for ($kv : @c) { printf("%d %s %d = %d\\n", $kv.0.0, $kv.0.1, $kv.0.2, $kv.1); } }')
    assert sorted(out[:2]) == ["1 hi -7 = 5", "1000 x 5 = 4"]
    assert out[2:] == ["@c[1000, x, 5]: 4", "@c[1, hi, -7]: 5"]


def test_key_mismatch_names_literal_types():
    assert "trying to access with arguments: '(int8,int8)' when map expects arguments: '(int8,string[3])'" in \
        error('begin { @g[1, "hi"] = 2; if (has_key(@g, (1, 2))) { printf("ok\\n"); } }')
