"""Link helpers shared by every attach kind: close_all detaches several links at once."""

from __future__ import annotations

import os

import pytest
from tracing_helpers import array_map, counter

from purebpf.errors import NotFoundError
from purebpf.links import Link, Tracepoint, close_all
from purebpf.programs import Program
from purebpf.sys import ProgType


def test_close_all_detaches_every_link(no_fd_leak):
    with array_map() as counts, Program(ProgType.TRACEPOINT, counter(counts, os.getpid()), name="tp_all") as prog:
        links = [Tracepoint(prog, "syscalls", name)
                 for name in ("sys_enter_getpid", "sys_exit_getpid", "sys_enter_getppid")]
        ids = [link.id for link in links]
        os.getpid()
        os.getppid()
        assert counts[0] == 3
        assert close_all(links) == []
        assert all(link.closed for link in links)
        for link_id in ids:  # the kernel freed each bpf_link: nothing is attached any more
            with pytest.raises(NotFoundError):
                Link.from_id(link_id)
        os.getpid()
        os.getppid()
        assert counts[0] == 3


def test_close_all_of_closed_or_no_links():
    assert close_all([]) == []
    with array_map() as counts, Program(ProgType.TRACEPOINT, counter(counts, None), name="tp_one") as prog:
        link = Tracepoint(prog, "syscalls", "sys_enter_getppid")
        link.close()
        assert close_all([link]) == []  # closing twice is harmless
