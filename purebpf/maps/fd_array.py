"""Arrays whose values are file descriptors: programs, perf events, cgroups.

User space stores an fd (or any object owning one: a Program, a socket...);
the kernel keeps a reference to the object behind it, not the fd number.
Reading back gives the program id for prog arrays; perf event and cgroup
arrays cannot be read from user space at all.
"""

from __future__ import annotations

from purebpf.errors import NotSupportedError
from purebpf.maps.array import ArrayMap
from purebpf.maps.codec import Codec, FdCodec
from purebpf.maps.map import Map, MapSpec, require_positive, require_size
from purebpf.sys import Cmd
from purebpf.sys.cpus import possible_cpus

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any


class FdArrayMap(ArrayMap):
    """u32 index -> u32 fd.  Unlike plain arrays, slots start empty and can be deleted."""

    btf_value_codec = False  # fd in, id out: not the C type
    holds = "a file descriptor"

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        require_size(spec, "key_size", 4, "the key is a u32 index")
        require_size(spec, "value_size", 4, f"the value is {cls.holds}")
        require_positive(spec, "max_entries")

    def _default_value_codec(self) -> Codec:
        return FdCodec(self.value_size)

    _delete = Map._delete  # unlike plain arrays, deleting empties the slot

    def __len__(self) -> int:
        return sum(1 for _ in self.items_raw())


class _WriteOnlyFdArray(FdArrayMap):
    def _lookup(self, key: bytes | None, cmd: Cmd = Cmd.MAP_LOOKUP_ELEM, *args: Any, **kwargs: Any) -> bytes | None:
        if cmd == Cmd.MAP_LOOKUP_ELEM:
            raise NotSupportedError(f"{self._what()} cannot be read from user space (the kernel only lets "
                                    "programs use its entries); keep the fds you stored")
        return super()._lookup(key, cmd, *args, **kwargs)

    def __len__(self) -> int:
        return self.max_entries


class PerfEventArray(_WriteOnlyFdArray):
    """Index (usually a CPU) -> perf event fd, for ``bpf_perf_event_output`` and
    ``bpf_perf_event_read``.  ``max_entries`` defaults to the number of possible CPUs."""

    holds = "a perf event fd"

    @classmethod
    def _check_spec(cls, spec: MapSpec) -> None:
        if spec.max_entries == 0:
            spec.max_entries = possible_cpus()
        super()._check_spec(spec)


class CgroupArray(_WriteOnlyFdArray):
    """Index -> cgroup directory fd, for ``bpf_skb_under_cgroup``/``bpf_current_task_under_cgroup``."""

    holds = "a cgroup directory fd"


class ProgArray(FdArrayMap):
    """Index -> program, the jump table of ``bpf_tail_call``.  Lookups return program ids."""

    holds = "a program fd"
