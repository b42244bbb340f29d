"""BPF iterator links: a TRACING program run once per kernel object of one
kind (task, task_file, task_vma, bpf_map...) each time the iterator is read.

    prog = Program(tracing_spec(insns, "iter", "task"))
    with Iter(prog) as link:
        output = link.read()

Needs Linux 5.8 (task_vma 5.12) and kernel BTF.  The target is fixed at load
time (``attach_btf_id`` of the ``bpf_iter_<target>`` function); the program's
ctx is ``struct bpf_iter__<target> *``, and after the last object the program
runs once more with the object pointer NULL.  Closing the link detaches;
targets needing ``iter_info`` (map elements, cgroups, one task) are not
supported here yet.
"""

from __future__ import annotations

import errno
import os
import re

from purebpf.errors import syscall_error
from purebpf.links.attach import link_create, require_program
from purebpf.links.link import Link
from purebpf.links.validate import require_attach_type
from purebpf.programs import Program
from purebpf.sys import AttachType, ProgType
from purebpf.sys.iterators import iter_create

READ_SIZE = 1 << 16
VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


class Iter(Link):
    kind = "iter"

    def __init__(self, prog: Program) -> None:
        require_program(prog, (ProgType.TRACING,), "an iterator link")
        require_attach_type(prog, self.kind, (AttachType.TRACE_ITER,))
        super().__init__(link_create(prog, 0, AttachType.TRACE_ITER, f"iterator program '{prog.name}'"))
        self.attach_btf_id = prog.spec.attach_btf_id

    def read(self) -> bytes:
        """Run one whole iteration and return what the program wrote into it."""
        fd = iter_create(self.fd)
        chunks = []
        try:
            while True:
                try:
                    chunk = os.read(fd.raw, READ_SIZE)
                except InterruptedError:
                    continue
                except OSError as exc:
                    if exc.errno == errno.EAGAIN:  # the program asked for the object to be shown again
                        continue
                    raise syscall_error("read", exc.errno or errno.EIO, "iterator") from None
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            fd.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "attached"
        return f"<Iter btf_id={self.attach_btf_id} {state}>"


def iter_targets() -> list[str]:
    """The iterator targets the kernel describes: names with both a ``bpf_iter__<name>`` context struct
    and a ``bpf_iter_<name>`` function in its BTF (the open-coded ``bpf_iter_<x>_new`` kfuncs have no
    such struct)."""
    from purebpf.btf.kernel import load_kernel

    try:
        with open(VMLINUX_BTF, "rb") as f:
            data = f.read()
    except OSError:
        return []
    btf = load_kernel()
    names = {m.group(1).decode() for m in re.finditer(rb"\0bpf_iter__(\w+)\0", data)}
    return sorted(n for n in names
                  if btf.find_ids("bpf_iter_" + n, "func") and btf.find_ids("bpf_iter__" + n, "struct"))
