"""Watchpoint links: hardware breakpoints on a variable of this process, of a thread
started after attaching, and the refusals for bad addresses, lengths and modes."""

from __future__ import annotations

import ctypes
import os
import threading

import pytest
from tracing_helpers import array_map, counter

from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError
from purebpf.links.watchpoint import Watchpoint
from purebpf.programs import Program
from purebpf.sys import ProgType


def watcher(counts) -> Program:
    return Program(ProgType.PERF_EVENT, counter(counts, None), name="watch")


def test_counts_each_write_of_a_watched_variable():
    value = ctypes.c_uint64(0)
    with array_map() as counts, watcher(counts) as prog:
        with Watchpoint(prog, ctypes.addressof(value), 8, "w", pid=os.getpid()) as link:
            assert len(link.links) == len(os.listdir(f"/proc/{os.getpid()}/task"))
            assert all(lk.is_bpf_link for lk in link.links)
            _ = value.value  # a read is not a write
            for i in range(5):
                value.value = i + 1
            assert counts[0] == 5
        value.value = 99
        assert counts[0] == 5  # detached


def test_a_thread_started_after_attaching_inherits_the_watchpoint():
    value = ctypes.c_uint32(0)

    def write() -> None:
        value.value = 7

    with array_map() as counts, watcher(counts) as prog:
        with Watchpoint(prog, ctypes.addressof(value), 4, "rw", pid=os.getpid()):
            thread = threading.Thread(target=write)
            thread.start()
            thread.join()
        assert counts[0] >= 1


@pytest.mark.parametrize("address, length, mode, pid, error, words", [
    (0x1000, 3, "w", 1, InvalidInputError, "length 3"),
    (0x1001, 4, "w", 1, InvalidInputError, "not aligned"),
    (0x1000, 8, "wz", 1, InvalidInputError, "mode 'wz'"),
    (0x1000, 8, "wx", 1, InvalidInputError, "cannot be combined"),
    (0x1000, 8, "r", 1, NotSupportedError, "use 'rw'"),
    (0x1000, 8, "w", None, InvalidInputError, "needs a process"),
    (0x1000, 8, "w", 999_999_999, NotFoundError, "no process"),
])
def test_bad_watchpoints_are_refused_clearly(no_fd_leak, address, length, mode, pid, error, words):
    with array_map() as counts, watcher(counts) as prog:
        with pytest.raises(error, match=words):
            Watchpoint(prog, address, length, mode, pid=pid)
