"""The ``purebpf`` entry point: a command named first gets its parser alone, with the same behaviour."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from purebpf.cli.main import build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _help_via_full_parser(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser(argv[0]).parse_args(argv)
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", [["opensnoop", "-h"], ["runqlat", "--help"], ["prog", "-h"], ["map", "list", "-h"]])
def test_fast_path_help_is_the_full_parsers(argv, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    want = _help_via_full_parser(argv, capsys)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert capsys.readouterr().out == want
    assert want.startswith(f"usage: purebpf {argv[0]} ")


def test_tool_bad_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["opensnoop", "--no-such-flag"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == "purebpf opensnoop: error: unrecognized arguments: --no-such-flag\n"


def test_options_before_the_command_take_the_full_parser(capsys):
    with pytest.raises(SystemExit):
        main(["-h", "opensnoop"])
    out = capsys.readouterr().out
    assert out.startswith("usage: purebpf [-h] COMMAND ...")
    assert "tools (purebpf TOOL -h for a tool's flags):" in out


def test_unknown_command_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["opensnoo"])
    assert exc.value.code == 2
    assert "invalid choice: 'opensnoo'" in capsys.readouterr().err


def test_tool_start_up_imports_stay_light():
    """Parsing a tool's flags imports the tool and the layers it builds on, but not the
    modules that cost start-up time and that a tool does not need (see docs/benchmarks.md)."""
    heavy = ("dataclasses", "inspect", "pathlib", "shutil", "purebpf.btf.spec", "elftools")
    code = ("import sys; before = set(sys.modules); from purebpf.cli.main import _parse\n"
            "for tool in ('opensnoop', 'execsnoop', 'runqlat'):\n"
            "    _parse([tool])\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules and m not in before))")
    # -S: no site hooks (a .pth file may import some of these for its own reasons)
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_trace_goes_straight_to_its_own_option_parser(capsys):
    assert main(["trace", "--no-such-option"]) == 1
    assert "--no-such-option" in capsys.readouterr().err
