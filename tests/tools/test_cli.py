"""The tools as ``purebpf TOOL``: grouped in --help, imported only when chosen."""

from __future__ import annotations

import subprocess
import sys

from purebpf.tools import TOOLS, available
from tests.tools.harness import ROOT


def test_help_groups_the_tools():
    res = subprocess.run([sys.executable, "-m", "purebpf", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0
    commands, _, tools = res.stdout.partition("tools (purebpf TOOL -h for a tool's flags):")
    assert tools and "execsnoop" not in commands
    for name in TOOLS:
        assert f"\n  {name} " in tools
    assert available() == TOOLS  # every listed tool has its module


def test_a_tool_imports_only_itself():
    code = ("import sys\nfrom purebpf.cli.main import main\ntry:\n    main(['opensnoop', '-h'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('purebpf.tools.')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    loaded = res.stdout.strip().splitlines()[-1]
    assert "purebpf.tools.opensnoop" in loaded and "execsnoop" not in loaded and "runqlat" not in loaded
    assert "purebpf.trace" not in loaded
