"""Maps holding fds: prog arrays, perf event arrays, cgroup arrays, maps of maps."""

from __future__ import annotations

import os

import pytest

from purebpf.errors import InvalidInputError, NotSupportedError, SyscallError
from purebpf.maps import Map, MapSpec, MapType
from purebpf.maps.fd_array import CgroupArray, PerfEventArray, ProgArray
from purebpf.maps.map_of_maps import ArrayOfMaps, HashOfMaps
from purebpf.sys import ProgType
from purebpf.sys.cpus import possible_cpus
from purebpf.sys.perf import PERF_COUNT_SW_BPF_OUTPUT, PerfType, open_event

from .conftest import return_zero


def test_prog_array_stores_programs_returns_ids(prog):
    with Map(MapType.PROG_ARRAY, 4, 4, 4, name="jumps") as jumps:
        assert isinstance(jumps, ProgArray)
        jumps[1] = prog
        jumps[2] = prog.fd
        assert jumps[1] == prog.id and dict(jumps.items()) == {1: prog.id, 2: prog.id}
        assert len(jumps) == 2
        del jumps[2]
        assert 2 not in jumps


def test_prog_array_refuses_another_program_type(prog, no_fd_leak):
    with Map(MapType.PROG_ARRAY, 4, 4, 2, name="jumps") as jumps, \
            return_zero(ProgType.XDP, "xdp0") as xdp:
        jumps[0] = prog
        with pytest.raises(SyscallError, match="BPF_MAP_UPDATE_ELEM of prog_array map 'jumps' failed: EINVAL"):
            jumps[1] = xdp


def test_prog_array_sizes(no_fd_leak):
    with pytest.raises(InvalidInputError, match=r"needs value_size 4 \(the value is a program fd\), got 8"):
        Map(MapType.PROG_ARRAY, 4, 8, 2)
    with pytest.raises(InvalidInputError, match="expected a file descriptor"):
        with Map(MapType.PROG_ARRAY, 4, 4, 2) as m:
            m[0] = "prog"


def test_perf_event_array_defaults_and_stores_events(no_fd_leak):
    with Map(MapType.PERF_EVENT_ARRAY, name="events") as m:
        assert isinstance(m, PerfEventArray)
        assert (m.key_size, m.value_size, m.max_entries) == (4, 4, possible_cpus())
        fds = [open_event(PerfType.SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, cpu=cpu) for cpu in range(os.cpu_count())]
        try:
            for cpu, fd in enumerate(fds):
                m[cpu] = fd
            with pytest.raises(NotSupportedError, match="cannot be read from user space"):
                m[0]
            assert m.delete(0) and not m.delete(0)
        finally:
            for fd in fds:
                os.close(fd)


def _cgroup2_root() -> str | None:
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


def test_cgroup_array_takes_a_cgroup_dir_fd():
    root = _cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 mount")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with Map(MapType.CGROUP_ARRAY, 4, 4, 1) as m:
            assert isinstance(m, CgroupArray)
            m[0] = fd
            with pytest.raises(NotSupportedError):
                m.get(0)
    finally:
        os.close(fd)


def test_array_of_maps_from_template_spec():
    inner_spec = MapSpec(MapType.HASH, 4, 8, 16)
    with Map(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner_map=inner_spec, name="outer") as outer, \
            Map(inner_spec) as inner:
        assert isinstance(outer, ArrayOfMaps)
        inner[1] = 42
        outer[3] = inner
        assert outer[3] == inner.id and dict(outer.items()) == {3: inner.id}
        with outer.get_map(3) as opened:
            assert opened.id == inner.id and opened[1] == 42
        assert outer.get_map(0) is None


def test_hash_of_maps_with_template_map_and_shape_check(no_fd_leak):
    with Map(MapType.HASH, 4, 8, 16) as template, \
            Map(MapType.HASH_OF_MAPS, 8, 4, 4, inner_map=template, name="outer") as outer:
        assert isinstance(outer, HashOfMaps)
        outer[7] = template
        assert outer[7] == template.id
        with Map(MapType.HASH, 4, 4, 16) as other_shape:  # value size differs from the template
            with pytest.raises(SyscallError, match="EINVAL"):
                outer[8] = other_shape


def test_map_of_maps_needs_a_template(no_fd_leak):
    with pytest.raises(InvalidInputError, match="needs a template for its inner maps"):
        Map(MapType.ARRAY_OF_MAPS, 4, 4, 4)
