"""Options from globals: kinds, defaults, parsing, --help."""

from __future__ import annotations

import argparse
import re

import pytest

from purebpf.elf import read_object
from purebpf.runner.options import add_to_parser, chosen, object_options
from tests.runner.conftest import run_cli


@pytest.fixture
def options(bpf_objects):
    return {o.name: o for o in object_options(read_object(bpf_objects["options"]))}


def test_every_scalar_global_is_an_option(options):
    assert list(options) == ["target_pid", "verbose", "quiet", "mode", "label", "offset", "level", "hits"]
    assert {n: o.kind for n, o in options.items()} == {
        "target_pid": "int", "verbose": "bool", "quiet": "bool", "mode": "enum", "label": "str",
        "offset": "int", "level": "int", "hits": "int"}
    assert {n: o.default for n, o in options.items()} == {
        "target_pid": 0, "verbose": False, "quiet": True, "mode": 1, "label": "none", "offset": -5,
        "level": 3, "hits": 0}
    assert options["target_pid"].flag == "--target-pid"
    assert options["target_pid"].c_type == "const volatile __u32"
    assert (options["level"].section, options["hits"].section) == (".data", ".bss")


def test_statics_and_pointers_are_not_options(bpf_objects):
    names = {o.name for o in object_options(read_object(bpf_objects["writehist"]))}
    assert names == {"target_pid"}  # `static struct hist zero` is not one
    names = {o.name for o in object_options(read_object(bpf_objects["opensnoop"]))}
    assert names == {"target_pid"}  # the `struct open_event *` type holder is not one


def test_parsing(options):
    parser = argparse.ArgumentParser()
    add_to_parser(parser, list(options.values()), "options.bpf.o")
    args = parser.parse_args(["--target-pid", "0x10", "--no-quiet", "--mode", "slow", "--label", "abc",
                              "--offset", "-9", "--level", "4"])
    got = {o.name: v for o, v in chosen(args, list(options.values()))}
    assert got == {"target_pid": 16, "quiet": False, "mode": 7, "label": "abc", "offset": -9, "level": 4}
    assert options["mode"].parse("MODE_OFF") == 0
    assert options["mode"].parse("1") == 1


@pytest.mark.parametrize("name, text, message", [
    ("target_pid", "-1", "does not fit const volatile __u32 (0..4294967295)"),
    ("target_pid", "abc", "is not an integer"),
    ("mode", "medium", "use one of MODE_OFF, MODE_FAST, MODE_SLOW"),
    ("label", "x" * 12, "holds at most 11 plus the NUL"),
])
def test_bad_values(options, name, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
        options[name].parse(text)


def test_a_clashing_name_gets_a_prefix(options):
    parser = argparse.ArgumentParser()
    parser.add_argument("--level")
    add_to_parser(parser, list(options.values()), "x")
    assert options["level"].flag == "--global-level"


def test_help_lists_globals_with_types_and_defaults(bpf_objects):
    res = run_cli("run", bpf_objects["options"], "--help")
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    for expected in ("--target-pid N const volatile __u32 target_pid (.rodata); default: 0",
                     "--verbose, --no-verbose const volatile _Bool verbose (.rodata); default: false",
                     "--mode NAME const volatile enum mode mode (.rodata; one of MODE_OFF, MODE_FAST, MODE_SLOW); "
                     "default: MODE_FAST",
                     "--label TEXT const volatile char[12] label (.rodata); default: 'none'",
                     "--level N int level (.data); default: 3",
                     "--hits N __u64 hits (.bss); default: 0",
                     "-j, --json", "--duration S", "--hist MAP"):
        assert expected in text


def test_generic_help_without_an_object():
    res = run_cli("run", "--help")
    assert res.returncode == 0
    assert "--event-type NAME" in res.stdout and "usage: purebpf run OBJECT.bpf.o" in res.stdout
