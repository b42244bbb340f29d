"""``FD``: the single owner of one kernel file descriptor.

Every kernel object in purebpf (map, program, link, BTF, perf event) holds its
fd through an ``FD`` so closing is idempotent, happens at garbage collection
if the user forgot, and a closed object fails loudly instead of reusing an fd
number the process has since handed to something else.
"""

from __future__ import annotations

import os

from purebpf.errors import BPFError


class ClosedError(BPFError):
    """The object's fd was already closed."""


class FD:
    __slots__ = ("_fd", "__weakref__")

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        self._fd = fd

    @property
    def raw(self) -> int:
        """The fd number; raises :class:`ClosedError` once closed."""
        if self._fd < 0:
            raise ClosedError("use of a closed BPF object")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def dup(self) -> FD:
        return FD(os.dup(self.raw))

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass

    def detach(self) -> int:
        """Give up ownership and return the raw fd (the caller now closes it)."""
        fd, self._fd = self.raw, -1
        return fd

    def __del__(self) -> None:
        self.close()

    def __int__(self) -> int:
        return self.raw

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"
