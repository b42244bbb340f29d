"""Renaming the running process, as ``ps``, ``pidof`` and ``killall`` see it.

Two names exist: ``comm`` (16 bytes, in the task; ``/proc/self/comm``, what BPF's
``comm`` builtin reads) and ``argv[0]`` (the first string of the process's argument
area, what ``pidof`` matches).  The interpreter keeps its own copy of the arguments,
so the area the kernel shows can change freely: a name that fits over the old
``argv[0]`` is written in place; a longer one goes into a new area, which
``prctl(PR_SET_MM)`` makes the kernel show instead (it needs CAP_SYS_RESOURCE);
without it the arguments are shifted within the old area and the last one loses
its tail in what ``ps`` shows.
"""

from __future__ import annotations

import ctypes

PR_SET_MM = 35
PR_SET_MM_ARG_START = 8
PR_SET_MM_ARG_END = 9

_areas: list[ctypes.Array] = []  # argument areas the kernel points at: alive as long as the process


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
            argv = f.read()
    except (OSError, IndexError, ValueError):
        return
    argv0, _, rest = argv.partition(b"\0")
    new = name.encode()
    if arg_start and len(new) <= len(argv0) and arg_start + len(argv0) <= arg_end:
        # the new name, then NULs over the rest of the old one: the other arguments stay where they are
        ctypes.memmove(arg_start, new + b"\0" * (len(argv0) - len(new)), len(argv0))
        return
    if not _move_arguments(new + b"\0" + rest, arg_start) and arg_start and arg_end - arg_start > len(new):
        size = arg_end - arg_start
        ctypes.memmove(arg_start, (new + b"\0" + rest)[:size - 1] + b"\0", size)


def _move_arguments(area: bytes, old_start: int) -> bool:
    """Point the kernel at a new argument area; the order of the two calls keeps start <= end,
    which the kernel checks after each."""
    buf = ctypes.create_string_buffer(area, len(area))
    start = ctypes.addressof(buf)
    end = start + len(area)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        calls = [(PR_SET_MM_ARG_START, start), (PR_SET_MM_ARG_END, end)]
        if start > old_start:
            calls.reverse()
        for option, value in calls:
            if libc.prctl(PR_SET_MM, option, ctypes.c_ulong(value), 0, 0) != 0:
                return False
    except (OSError, AttributeError):
        return False
    _areas.append(buf)
    return True
