"""fentry / fexit on a loaded BPF program's function: a trampoline on the
program itself, to see when it runs, what it is given and what it returns.

    target = FD(fd_by_id("prog", prog_id))
    prog = Program(prog_tracing_spec(insns, "fexit", target.raw, "handle_packet"))
    target.close()  # the loaded program keeps its own reference
    link = Tracing(prog)

Needs Linux 5.5 on x86_64, and a target loaded with BTF func info (clang
``-g`` objects, bpftrace and purebpf trace programs have it): the BTF names its
functions, and the kernel verifies the new program against the chosen
function's prototype.  The kernel refuses to trace an fentry/fexit program
with another one ("Cannot recursively attach").  Closing the link detaches.
"""

from __future__ import annotations

from purebpf._record import Record
from purebpf.errors import BPFError, InvalidInputError, NotFoundError
from purebpf.links.validate import require_name
from purebpf.programs import ProgramSpec
from purebpf.sys import AttachType, ProgType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from purebpf.asm import Instruction

KINDS = {"fentry": AttachType.TRACE_FENTRY, "fexit": AttachType.TRACE_FEXIT}


class ProgFunction(Record):
    """One function of a loaded program: ``btf_id`` is its FUNC type in the program's BTF,
    ``params`` how many parameters its prototype has (fexit's return value follows them)."""

    __slots__ = _fields = ("prog_id", "name", "btf_id", "params")

    def __init__(self, prog_id: int, name: str, btf_id: int, params: int) -> None:
        self.prog_id = prog_id
        self.name = name
        self.btf_id = btf_id
        self.params = params


def program_functions(prog_fd: int) -> list[ProgFunction]:
    """The functions of the program ``prog_fd`` (main one first) as its BTF names them; [] without BTF."""
    from purebpf.btf import BTF
    from purebpf.maps.btf_codec import btf_bytes
    from purebpf.programs.info import program_functions as func_info
    from purebpf.sys.attrs import ProgInfo
    from purebpf.sys.objects import obj_info

    btf_id, records = func_info(prog_fd)
    if not records:
        return []
    prog_id = obj_info(prog_fd, ProgInfo()).id
    btf = BTF.from_bytes(btf_bytes(btf_id)[0], name=f"program {prog_id}")
    out = []
    for _, type_id in records:
        func = btf.type_by_id(type_id)
        proto = btf.type_by_id(func.type) if func.type else None
        out.append(ProgFunction(prog_id, func.name, type_id, len(getattr(proto, "params", ()))))
    return out


def loaded_functions() -> list[ProgFunction]:
    """The functions of every loaded program that has BTF, by program id (one that goes away meanwhile
    is skipped)."""
    from purebpf.sys import FD
    from purebpf.sys.objects import fd_by_id, iter_ids

    out: list[ProgFunction] = []
    for prog_id in iter_ids("prog"):
        try:
            fd = FD(fd_by_id("prog", prog_id))
        except NotFoundError:
            continue
        try:
            out.extend(program_functions(fd.raw))
        except BPFError:
            continue
        finally:
            fd.close()
    return out


def find_function(prog_fd: int, func: str) -> ProgFunction:
    """The function ``func`` of program ``prog_fd``; NotFoundError naming the ones it has."""
    funcs = program_functions(prog_fd)
    for f in funcs:
        if f.name == func:
            return f
    names = ", ".join(f.name for f in funcs) or "none: it was loaded without BTF func info"
    raise NotFoundError(f"BPF program has no function '{func}' (its functions: {names})")


def prog_tracing_spec(insns: Sequence[Instruction] | bytes, kind: str, target_fd: int, func: str, *,
                      name: str = "", license: str = "GPL") -> ProgramSpec:
    """A :class:`ProgramSpec` for a ``kind`` ("fentry" or "fexit") program on function ``func`` of the
    loaded program ``target_fd``; keep ``target_fd`` open until the program is loaded."""
    attach_type = KINDS.get(kind)
    if attach_type is None:
        raise InvalidInputError(f"unknown kind {kind!r} for a program on a BPF program: fentry or fexit")
    require_name(func, f"{kind} target function")
    target = find_function(target_fd, func)
    return ProgramSpec(ProgType.TRACING, insns, license=license, name=name or func,
                       expected_attach_type=attach_type, attach_btf_id=target.btf_id, attach_btf_obj_fd=target_fd)
