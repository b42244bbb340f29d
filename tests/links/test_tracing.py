"""fentry / fexit links on do_unlinkat (guest kernel), specs and refusals (here)."""

from __future__ import annotations

import errno
import os

import pytest
from tracing_helpers import array_map, noop, recorder

from purebpf.btf.kernel import load_kernel
from purebpf.errors import InvalidInputError, NotFoundError, SyscallError
from purebpf.links import Tracing, tracing_spec
from purebpf.programs import Program
from purebpf.sys import AttachType, ProgType

N = 12
AT_FDCWD = -100


@pytest.fixture
def counts():
    with array_map() as m:
        yield m


def test_spec_names_the_function_in_vmlinux_btf():
    spec = tracing_spec([], "fexit", "do_unlinkat")
    assert (spec.type, spec.expected_attach_type) == (ProgType.TRACING, AttachType.TRACE_FEXIT)
    assert load_kernel().name_of(spec.attach_btf_id) == "do_unlinkat"
    with pytest.raises(NotFoundError, match="fentry target 'no_such_function_xyz' not found"):
        tracing_spec([], "fentry", "no_such_function_xyz")


def test_load_refusal_is_explained_or_attach_works(counts):
    """This host refuses fentry programs with EPERM: the error must say why."""
    try:
        prog = Program(tracing_spec(noop(), "fentry", "do_unlinkat"))
    except SyscallError as exc:
        assert exc.errno == errno.EPERM
        assert "fentry" in str(exc) and "do_unlinkat" in str(exc)
        return
    with prog, Tracing(prog) as link:
        assert link.info().prog_id


def test_rejects_programs_not_loaded_for_fentry(counts, no_fd_leak):
    with Program(ProgType.RAW_TRACEPOINT, noop(), name="raw") as prog:
        with pytest.raises(InvalidInputError, match="TRACING"):
            Tracing(prog)


@pytest.mark.guest_kernel
def test_fentry_and_fexit_see_arguments_and_return_value(counts, tmp_path):
    pid = os.getpid()
    # do_unlinkat(int dfd, struct filename *name): ctx = [dfd, name] (+ return value for fexit)
    with array_map(name="rets") as rets, \
            Program(tracing_spec(recorder(counts, pid, {1: 0}), "fentry", "do_unlinkat")) as entry, \
            Program(tracing_spec(recorder(rets, pid, {1: 16}), "fexit", "do_unlinkat")) as exit_:
        with Tracing(entry) as link, Tracing(exit_):
            for i in range(N):
                with pytest.raises(FileNotFoundError):
                    os.unlink(tmp_path / f"missing{i}")
            assert link.is_bpf_link and link.info().prog_id
        assert counts[0] == N and counts[1] & 0xFFFFFFFF == AT_FDCWD & 0xFFFFFFFF
        assert rets[0] == N and rets[1] & 0xFFFFFFFF == -errno.ENOENT & 0xFFFFFFFF
