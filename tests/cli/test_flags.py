"""The tools' flag parser against argparse: on every command line, the same
values, or the same help/error output and exit status.  The command lines are
made from each tool's own argparse declarations, so a new flag is covered."""

from __future__ import annotations

import argparse
import importlib
import itertools
import subprocess
import sys

import pytest

from purebpf.cli import tools as tool_cli
from purebpf.cli.flags import FlagParser
from purebpf.tools import TOOLS
from tests.tools.harness import ROOT


def _outcome(parser, argv: list[str], capsys) -> tuple:
    """What a parse gives: the values, or (exit status, stdout, stderr)."""
    try:
        return ("ok", vars(parser.parse_args(argv)))
    except SystemExit as exc:
        out = capsys.readouterr()
        return ("exit", exc.code, out.out, out.err)


def _samples(action: argparse.Action) -> list[str]:
    if action.choices is not None:
        return [*map(str, action.choices), "nosuch"]
    kind = getattr(action.type, "__name__", "")
    if kind == "port_list":
        return ["80", "80,443", "0", "x"]
    if action.type is not None:
        return ["5", "0", "-1", "x", "ENOENT"]
    return ["abc", "-x", ""]


def _command_lines(parser: argparse.ArgumentParser) -> list[list[str]]:
    """Each flag alone and with each sample value in each spelling, bundles of
    switches, positionals before, between and after flags, and plain mistakes."""
    switches, valued, positionals = [], [], []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            positionals.append(action)
        elif action.nargs == 0:
            switches.append(action)
        else:
            valued.append(action)
    lines: list[list[str]] = [[], ["-h"], ["--help"], ["--"], ["--nosuch"], ["-Q"], ["extra", "args", "here", "x"]]
    for action in switches:
        for opt in action.option_strings:
            lines += [[opt], [opt, opt], [opt + "=1"], [opt[:4]] if opt.startswith("--") else [opt, "-h"]]
    shorts = [a.option_strings[0] for a in switches if not a.option_strings[0].startswith("--")]
    for n in (2, 3):
        lines += [["-" + "".join(s[1] for s in combo)] for combo in itertools.combinations(shorts, n)][:12]
    for action in valued:
        for opt, value in itertools.product(action.option_strings, _samples(action)):
            lines += [[opt, value], [opt + "=" + value]]
            if not opt.startswith("--"):
                lines += [[opt + value]]
                lines += [["-" + s[1] + opt[1:] + value] for s in shorts[:2]]
                lines += [["-" + s[1] + opt[1:], value] for s in shorts[:2]]
        lines += [[action.option_strings[0]]]
    if positionals:
        flag = [shorts[0]] if shorts else []
        lines += [["7"], ["7", "3"], ["7", "3", "2"], ["0"], ["x"], ["7", *flag], [*flag, "7", "3"],
                  ["7", *flag, "3"], ["-1"]]
        if valued:
            opt, value = valued[0].option_strings[0], _samples(valued[0])[0]
            lines += [["7", opt, value], [opt, value, "7", "3"], ["7", "3", opt, value]]
    return lines


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_same_as_argparse(name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    module = importlib.import_module(f"purebpf.tools.{name}")
    reference = tool_cli.argparse_parser(name, module)
    fast = tool_cli.parser(name)
    assert isinstance(fast, FlagParser)
    for argv in _command_lines(reference):
        want = _outcome(reference, argv, capsys)
        got = _outcome(fast, argv, capsys)
        assert got == want, argv


def test_plain_command_lines_do_not_import_argparse():
    code = ("import sys\nfrom purebpf.cli.main import _parse\n"
            "for argv in (['opensnoop', '-xTp1', '-n', 'cat'], ['runqlat', '-mP', '1', '3'],\n"
            "             ['execsnoop', '--max-args=5', '-u', '0'], ['biotop', '-s', 'io', '2']):\n"
            "    _parse(argv)\n"
            "print('argparse' in sys.modules, 'typing' in sys.modules)")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.split() == ["False", "False"]


def test_an_unknown_declaration_hands_every_parse_to_argparse(capsys):
    built = []

    def fallback() -> argparse.ArgumentParser:
        built.append(1)
        p = argparse.ArgumentParser(prog="t")
        p.add_argument("-v", action="count", default=0)
        return p

    p = FlagParser(fallback)
    p.add_argument("-v", action="count", default=0)
    assert p.parse_args(["-vv"]).v == 2 and built
