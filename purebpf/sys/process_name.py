"""Renaming the running process, as ``ps``, ``pidof`` and ``killall`` see it.

Two names exist: ``comm`` (16 bytes, in the task; ``/proc/self/comm``, what BPF's
``comm`` builtin reads) and ``argv[0]`` (the first string of the process's argument
area, what ``pidof`` matches).  The argument area is ordinary memory of this process
(its address is field 48 of ``/proc/self/stat``); the interpreter keeps its own copy
of the arguments, so overwriting the first string in place changes only what others see.
"""

from __future__ import annotations

import ctypes


def rename_process(name: str) -> None:
    """Call the process ``name`` for ``comm`` and ``argv[0]``; best effort, never raises."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name)
    except OSError:
        pass
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        arg_start, arg_end = int(fields[45]), int(fields[46])  # fields 48 and 49, counted from pid
        with open("/proc/self/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0", 1)[0]
    except (OSError, IndexError, ValueError):
        return
    new = name.encode()
    if not arg_start or len(new) > len(argv0) or arg_start + len(argv0) > arg_end:
        return
    # the new name, then NULs over the rest of the old one: the other arguments stay where they are
    ctypes.memmove(arg_start, new + b"\0" * (len(argv0) - len(new)), len(argv0))
