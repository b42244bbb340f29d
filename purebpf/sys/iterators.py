"""``BPF_ITER_CREATE``: turn an iterator link into a readable file.

Each ``read()`` of the returned fd runs the link's program once per kernel
object (task, open file, vma...) and hands back what the program wrote with
``bpf_seq_write``/``bpf_seq_printf``; EOF means the iteration is over.
"""

from __future__ import annotations

from purebpf.sys.attrs import IterCreateAttr
from purebpf.sys.commands import Cmd
from purebpf.sys.fd import FD
from purebpf.sys.syscall import bpf


def iter_create(link_fd: int, flags: int = 0) -> FD:
    """A new iterator fd for the iterator link ``link_fd`` (Linux 5.8+); each fd iterates once."""
    return FD(bpf(Cmd.ITER_CREATE, IterCreateAttr(link_fd=link_fd, flags=flags), "iterator"))
