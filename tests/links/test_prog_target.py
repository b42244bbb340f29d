"""fentry / fexit on a loaded BPF program's function: its functions read from its BTF func info
and specs naming one (here), the trampoline on a test-run program (guest kernel)."""

from __future__ import annotations

import struct

import pytest
from tracing_helpers import add_to_slot, array_map, counter, noop, store_to_slot

from purebpf.asm import FP, R0, R2, R7, AluOp, alu, call, exit_, ldx, mov, st
from purebpf.asm.assembler import assemble
from purebpf.btf.funcs import functions_btf
from purebpf.btf.kinds import Linkage
from purebpf.btf.load import load_btf
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import Tracing, loaded_functions, prog_tracing_spec
from purebpf.links.prog_target import program_functions
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, ProgType

PACKET = bytes(64)


def named_program(name: str, ret: int = 7) -> Program:
    """A socket filter returning ``ret`` whose BTF names its one function ``name`` (long name(long a0))."""
    data, ids = functions_btf([(name, 1, Linkage.GLOBAL)])
    btf = load_btf(data)
    try:
        spec = ProgramSpec(ProgType.SOCKET_FILTER, [mov(R0, ret), exit_()], name=name[:15], prog_btf_fd=btf.raw,
                           func_info=struct.pack("=II", 0, ids[0]), func_info_rec_size=8)
        return Program(spec)
    finally:
        btf.close()


def return_value_recorder(counts) -> list:
    """fexit: counts[1] = the return value, counts[0] += 1.  The return value is asked of the trampoline
    (bpf_get_func_ret): where it sits in the context depends on how the kernel models the target."""
    return assemble([
        st(8, FP, -16, 0), mov(R2, FP), alu(AluOp.ADD, R2, -16), call("get_func_ret"), ldx(8, R7, FP, -16),
        *store_to_slot(counts, 1, R7), *add_to_slot(counts, 0), mov(R0, 0), exit_(),
    ])


def test_functions_btf_reads_back_as_the_functions_given():
    from purebpf.btf import BTF

    data, ids = functions_btf([("main_fn", 1, Linkage.GLOBAL), ("helper", 3, Linkage.STATIC)])
    btf = BTF.from_bytes(data)
    assert [btf.name_of(i) for i in ids] == ["main_fn", "helper"]
    helper = btf.type_by_id(ids[1])
    assert helper.linkage == Linkage.STATIC and len(btf.type_by_id(helper.type).params) == 3
    with pytest.raises(InvalidInputError, match="not a C identifier"):
        functions_btf([("interval:ms:1", 1, Linkage.GLOBAL)])


def test_a_programs_functions_come_from_its_btf(no_fd_leak):
    with named_program("pbt_target_fn") as prog:
        funcs = program_functions(prog.fd)
        assert [(f.prog_id, f.name, f.params) for f in funcs] == [(prog.id, "pbt_target_fn", 1)]
        assert any(f.prog_id == prog.id and f.name == "pbt_target_fn" for f in loaded_functions())
        spec = prog_tracing_spec(noop(), "fexit", prog.fd, "pbt_target_fn")
        assert (spec.type, spec.expected_attach_type) == (ProgType.TRACING, AttachType.TRACE_FEXIT)
        assert (spec.attach_btf_obj_fd, spec.attach_btf_id) == (prog.fd, funcs[0].btf_id)
        with pytest.raises(NotFoundError, match=r"no function 'other' \(its functions: pbt_target_fn\)"):
            prog_tracing_spec(noop(), "fentry", prog.fd, "other")
        with pytest.raises(InvalidInputError, match="fentry or fexit"):
            prog_tracing_spec(noop(), "fmod_ret", prog.fd, "pbt_target_fn")


def test_a_program_without_btf_has_no_functions_to_trace(no_fd_leak):
    with Program(ProgramSpec(ProgType.SOCKET_FILTER, noop())) as prog:
        assert program_functions(prog.fd) == []
        with pytest.raises(NotFoundError, match="loaded without BTF func info"):
            prog_tracing_spec(noop(), "fentry", prog.fd, "x")


@pytest.mark.guest_kernel
def test_fentry_and_fexit_run_around_the_target_program():
    with named_program("pbt_target_fn", ret=7) as target, array_map() as entries, array_map() as exits:
        fentry = Program(prog_tracing_spec(counter(entries, None), "fentry", target.fd, "pbt_target_fn"))
        fexit = Program(prog_tracing_spec(return_value_recorder(exits), "fexit", target.fd, "pbt_target_fn"))
        with fentry, fexit, Tracing(fentry), Tracing(fexit):
            assert target.test_run(PACKET, repeat=3).retval == 7
        assert entries[0] == 3 and exits[0] == 3
        assert exits[1] == 7
