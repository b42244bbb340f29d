"""``--aot FILE``: the program as an executable file of its own.

bpftrace's ahead-of-time mode exists so a machine without LLVM can run a program;
purebpf trace never needs LLVM, so the file holds the checked program text and runs
it with purebpf trace (compiling takes milliseconds).  Options given to the file
(``-p``, ``-c``, ``-f``, ``-- --name=value`` for getopt()) work as on the command line.
"""

from __future__ import annotations

import os
import sys

LAUNCHER = '''#!{python}
"""A bpftrace program, made into a command by `purebpf trace --aot` (run it with -h for options)."""
import sys

try:
    from purebpf.cli.trace import main
except ImportError:  # made by a purebpf run from its source tree
    sys.path.append({source!r})
    from purebpf.cli.trace import main

PROGRAM = {program!r}
sys.exit(main([*{baked!r}, "-e", PROGRAM, *sys.argv[1:]]))
'''


def write_executable(path: str, text: str, baked: list[str]) -> None:
    """Write ``text`` (already compiled once, so it is known to be good) as an executable at ``path``;
    ``baked`` are the options that change how it compiles (--unsafe, -k, includes)."""
    body = LAUNCHER.format(python=sys.executable, program=text, baked=baked, source=_source_root())
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)


def _source_root() -> str:
    import purebpf
    return os.path.dirname(os.path.dirname(os.path.abspath(purebpf.__file__)))
