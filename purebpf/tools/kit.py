"""Small building blocks for tool programs written straight in eBPF.

Tools whose programs need what the trace language cannot say (reading a user
``argv`` array, following ``task->real_parent->tgid``, stack ids) assemble
them here from :mod:`purebpf.asm` builders.  Filters that libbpf-tools keep in
``const volatile`` globals become immediates: the program is assembled after
the command line is parsed, so a filter costs one compare and no map.

    a = Asm()
    a(mov(R6, R1))
    pid_tgid(a, R7)
    filter_task(a, R7, tgid=1234)         # returns 0 unless process 1234
    ...
    prog = a.load(ProgType.TRACEPOINT, "execsnoop_enter")
"""

from __future__ import annotations

from purebpf._memo import cache
from purebpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    AluOp,
    AtomicOp,
    Instruction,
    JmpOp,
    Reg,
    alu,
    assemble,
    atomic,
    call,
    exit_,
    ja,
    jmp,
    ld_map_fd,
    ld_map_value,
    ldx,
    mov,
    stx,
)
from purebpf.programs import Program, ProgType

TYPE_CHECKING = False  # collections.abc imports collections (~1 ms): only type checkers read these
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

MAP_NOEXIST = 1  # BPF_NOEXIST
BPF_F_USER_STACK = 1 << 8


class Asm:
    """A program under construction: instructions, fresh labels, and the
    shared ``out`` label every early return jumps to (``return 0``)."""

    def __init__(self) -> None:
        self.insns: list[Instruction] = []
        self._pending: str | None = None
        self._count = 0
        self.out = "out"

    def __call__(self, *items: Instruction | Iterable[Instruction]) -> None:
        for item in items:
            if isinstance(item, Instruction):
                self._append(item)
            else:
                for insn in item:
                    self._append(insn)

    def _append(self, insn: Instruction) -> None:
        if self._pending is not None:
            insn.with_label(self._pending)
            self._pending = None
        self.insns.append(insn)

    def fresh(self, stem: str = "L") -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def mark(self, label: str) -> None:
        """Place ``label`` at the next instruction emitted."""
        if self._pending is not None:
            self._append(ja(0))  # two labels on one spot: a no-op carries the first
        self._pending = label

    def skip_unless(self, reg: Reg, value: int | None, *, to: str | None = None, bits: int = 64) -> None:
        """Leave (jump to ``to``, default :attr:`out`) unless ``reg == value``; no-op for None."""
        if value is not None:
            self(jmp(JmpOp.JNE, reg, value, to or self.out, bits=bits))

    def finish(self) -> list[Instruction]:
        """Append the shared ``out: return 0`` and resolve labels."""
        self.mark(self.out)
        self(mov(R0, 0), exit_())
        return assemble(self.insns)

    def load(self, prog_type: ProgType, name: str) -> Program:
        return Program(prog_type, self.finish(), name=name[:15])


def pid_tgid(a: Asm, dst: Reg) -> None:
    """``dst = bpf_get_current_pid_tgid()`` (tgid in the high half, tid in the low)."""
    a(call("get_current_pid_tgid"), mov(dst, R0))


def current_uid(a: Asm, dst: Reg) -> None:
    a(call("get_current_uid_gid"), mov(dst, R0, bits=32))


def filter_task(a: Asm, id_reg: Reg, *, tgid: int | None = None, tid: int | None = None,
                uid: int | None = None, scratch: Reg = R2) -> None:
    """Return early unless the current task matches every filter given.
    ``id_reg`` holds pid_tgid and is kept; ``scratch`` and r0-r5 are clobbered."""
    if tgid is not None:
        a(mov(scratch, id_reg), alu(AluOp.RSH, scratch, 32))
        a.skip_unless(scratch, tgid)
    if tid is not None:
        a(mov(scratch, id_reg, bits=32))
        a.skip_unless(scratch, tid)
    if uid is not None:
        current_uid(a, R0)
        a.skip_unless(R0, uid)


def sext32(a: Asm, reg: Reg) -> None:
    """Sign-extend the low 32 bits of ``reg`` (works on every ISA version)."""
    a(alu(AluOp.LSH, reg, 32), alu(AluOp.ARSH, reg, 32))


def load_field(a: Asm, dst: Reg, ctx: Reg, offset: int, size: int, *, signed: bool = False) -> None:
    """``dst = *(ctx + offset)`` for a 1/2/4/8-byte context field."""
    a(ldx(size, dst, ctx, offset))
    if signed and size == 4:
        sext32(a, dst)


def read_kernel_chain(a: Asm, dst: Reg, base: Reg, path: list[tuple[int, int]], *, slot: int = -8) -> None:
    """Follow ``path`` from the kernel pointer in ``base``: each step reads
    ``size`` bytes at ``ptr + offset`` with bpf_probe_read_kernel; all but the
    last are pointers.  Leaves the last value in ``dst`` (0 on a failed read).
    Uses the 8-byte stack slot at ``FP + slot``; clobbers r0-r5."""
    a(mov(R3, base))
    for i, (offset, size) in enumerate(path):
        a(mov(R0, 0), stx(8, FP, slot, R0))
        a(alu(AluOp.ADD, R3, offset), mov(R1, FP), alu(AluOp.ADD, R1, slot), mov(R2, size),
          call("probe_read_kernel"))
        a(ldx(size, R3 if i < len(path) - 1 else dst, FP, slot))
    if not path:
        a(mov(dst, base))


def map_lookup(a: Asm, map_fd: int, key_slot: int) -> None:
    """``r0 = bpf_map_lookup_elem(map, FP + key_slot)``."""
    a(ld_map_fd(R1, map_fd), mov(R2, FP), alu(AluOp.ADD, R2, key_slot), call("map_lookup_elem"))


def map_update(a: Asm, map_fd: int, key_slot: int, value: int | Reg, flags: int = 0) -> None:
    """Update ``map[FP + key_slot]`` from the stack slot ``value`` (int offset)
    or from the pointer in register ``value``."""
    a(ld_map_fd(R1, map_fd), mov(R2, FP), alu(AluOp.ADD, R2, key_slot))
    if isinstance(value, Reg):
        a(mov(R3, value))
    else:
        a(mov(R3, FP), alu(AluOp.ADD, R3, value))
    a(mov(R4, flags), call("map_update_elem"))


def map_delete(a: Asm, map_fd: int, key_slot: int) -> None:
    a(ld_map_fd(R1, map_fd), mov(R2, FP), alu(AluOp.ADD, R2, key_slot), call("map_delete_elem"))


def counter_add(a: Asm, map_fd: int, key_slot: int, value: Reg | int, zero_slot: int, *, size: int = 8) -> None:
    """``map[key] += value`` for a hash map of counters: insert a zero first
    when the key is new (the stack slot at ``zero_slot`` is zeroed and used as
    the initial value), then add atomically.  Clobbers r0-r5 (``value`` must be
    r6-r9 or an int)."""
    done = a.fresh("cnt")
    have = a.fresh("have")
    map_lookup(a, map_fd, key_slot)
    a(jmp(JmpOp.JNE, R0, 0, have))
    a(mov(R1, 0), stx(8, FP, zero_slot, R1))
    if size > 8:
        a(*[stx(8, FP, zero_slot + off, R1) for off in range(8, size, 8)])
    map_update(a, map_fd, key_slot, zero_slot, MAP_NOEXIST)
    map_lookup(a, map_fd, key_slot)
    a(jmp(JmpOp.JEQ, R0, 0, done))
    a.mark(have)
    a(mov(R1, value), atomic(AtomicOp.ADD, 8, R0, 0, R1))
    a.mark(done)
    a(mov(R0, 0))


def log2_slot(a: Asm, dst: Reg, src: Reg, tmp: Reg, tmp2: Reg) -> None:
    """``dst = floor(log2(src))`` (0 for 0 and 1): libbpf-tools' histogram slot.
    A binary search on shifted copies (no loop, no 64-bit immediates);
    ``src`` is left unchanged."""
    a(mov(tmp, src), mov(dst, 0))
    for shift in (32, 16, 8, 4, 2, 1):
        skip = a.fresh("lg")
        a(mov(tmp2, tmp), alu(AluOp.RSH, tmp2, shift), jmp(JmpOp.JEQ, tmp2, 0, skip), mov(tmp, tmp2),
          alu(AluOp.ADD, dst, shift))
        a.mark(skip)
    a(mov(tmp, tmp))  # a landing spot for the last label


def ringbuf_output(a: Asm, ring_fd: int, data: Reg, size: Reg | int) -> None:
    """``bpf_ringbuf_output(ring, data, size, 0)``; ``size`` must be bounded
    when it is a register."""
    a(ld_map_fd(R1, ring_fd), mov(R2, data), mov(R3, size), mov(R4, 0), call("ringbuf_output"))


@cache
def kernel_offset(struct: str, member: str) -> int:
    """Byte offset of ``struct.member`` in this kernel, read from its BTF
    (the hand-made CO-RE relocation of a field access), cached across runs."""
    from purebpf.btf.offsets import kernel_member_offset

    return kernel_member_offset(struct, member)


def tp_fields(group: str, name: str) -> dict:
    """The record fields of tracepoint ``group:name`` by name (offset, size, signed)."""
    from purebpf.sys.tracepoint_format import tracepoint_fields

    return {f.name: f for f in tracepoint_fields(group, name)}


def filter_cgroup(a: Asm, cgroup_map_fd: int | None) -> None:
    """Return early unless the current task is under the cgroup in slot 0 of
    a cgroup array (libbpf-tools' ``-c CGROUP_PATH``)."""
    if cgroup_map_fd is not None:
        a(ld_map_fd(R1, cgroup_map_fd), mov(R2, 0), call("current_task_under_cgroup"))
        a(jmp(JmpOp.JNE, R0, 1, a.out))


def count_drop(a: Asm, drops) -> None:
    """After a ring buffer write left its result in r0: count a failure in ``drops``."""
    if drops is None:
        return
    ok = a.fresh("sent")
    a(jmp(JmpOp.JEQ, R0, 0, ok), drops.increment())
    a.mark(ok)


def stash_args(a: Asm, stash_fd: int, ctx: Reg, loads: list[tuple[int, int, bool]]) -> None:
    """Store context fields, each widened to a u64, in ``stash[tid]``: the
    sys_enter half of an enter/exit pair.  ``loads`` are (offset, size, signed)."""
    a(mov(R6, ctx))
    pid_tgid(a, R0)
    a(stx(4, FP, -4, R0))
    base = -8 * (len(loads) + 1)  # below the key, 8-byte aligned
    for i, (offset, size, signed) in enumerate(loads):
        load_field(a, R1, R6, offset, size, signed=signed)
        a(stx(8, FP, base + 8 * i, R1))
    map_update(a, stash_fd, -4, base)


def take_stash(a: Asm, stash_fd: int, dst: Reg) -> None:
    """The sys_exit half: ``dst = stash[tid]`` or return; the key stays at FP-4
    for :func:`map_delete`."""
    pid_tgid(a, R0)
    a(stx(4, FP, -4, R0))
    map_lookup(a, stash_fd, -4)
    a(jmp(JmpOp.JEQ, R0, 0, a.out), mov(dst, R0))


def reserve(a: Asm, ring_fd: int, size: int, dst: Reg, drops, fail: str) -> None:
    """``dst = bpf_ringbuf_reserve(ring, size)``; on failure count a drop and go to ``fail``."""
    a(ld_map_fd(R1, ring_fd), mov(R2, size), mov(R3, 0), call("ringbuf_reserve"))
    got = a.fresh("got")
    a(jmp(JmpOp.JNE, R0, 0, got))
    if drops is not None:
        a(drops.increment())
    a(ja(fail))
    a.mark(got)
    a(mov(dst, R0))


def submit(a: Asm, reg: Reg) -> None:
    a(mov(R1, reg), mov(R2, 0), call("ringbuf_submit"))


def task_field(a: Asm, dst: Reg, task: Reg, struct_member: tuple[str, str] | int, size: int,
               *, slot: int = -8) -> None:
    """``dst = task->member`` read with bpf_probe_read_kernel; the member is
    an offset or a (struct, member) pair resolved through BTF."""
    offset = struct_member if isinstance(struct_member, int) else kernel_offset(*struct_member)
    read_kernel_chain(a, dst, task, [(offset, size)], slot=slot)


@cache
def task_state_offset() -> int:
    """``task_struct.__state`` (5.14+) or ``.state`` (before)."""
    try:
        return kernel_offset("task_struct", "__state")
    except Exception:  # noqa: BLE001 - older kernels name it state
        return kernel_offset("task_struct", "state")


def hist_increment(a: Asm, hists_fd: int, zero_fd: int, key_slot: int, value: Reg, max_slots: int,
                   *, on_new: Callable[[Asm], None] | None = None) -> None:
    """``hists[key].slots[log2(value)] += 1`` where a value is ``max_slots``
    u32 counters (possibly followed by more fields).  A new key is inserted
    from the zero-filled one-slot array ``zero_fd``; ``on_new(a)`` then runs
    with the new value's pointer in r9 (to fill a comm, say).  Clobbers r0-r5,
    r9 and the register after ``value``."""
    from purebpf.asm import R9

    have = a.fresh("hist")
    map_lookup(a, hists_fd, key_slot)
    a(jmp(JmpOp.JNE, R0, 0, have))
    a(ld_map_fd(R1, hists_fd), mov(R2, FP), alu(AluOp.ADD, R2, key_slot), ld_map_value(R3, zero_fd, 0),
      mov(R4, MAP_NOEXIST), call("map_update_elem"))
    map_lookup(a, hists_fd, key_slot)
    a(jmp(JmpOp.JEQ, R0, 0, a.out))
    if on_new is not None:
        a(mov(R9, R0))
        on_new(a)
        a(mov(R0, R9))
    a.mark(have)
    a(mov(R9, R0))
    log2_slot(a, R1, value, R2, R3)
    capped = a.fresh("cap")
    a(jmp(JmpOp.JLT, R1, max_slots, capped), mov(R1, max_slots - 1))
    a.mark(capped)
    a(alu(AluOp.LSH, R1, 2), mov(R0, R9), alu(AluOp.ADD, R0, R1), mov(R1, 1), atomic(AtomicOp.ADD, 4, R0, 0, R1))


def read_data_loc_str(a: Asm, ctx: Reg, field_offset: int, dst_slot: int, size: int) -> None:
    """Copy the ``__data_loc char[]`` tracepoint field at ``field_offset`` (a
    u32: length << 16 | offset from the record's start) to the stack at
    ``FP + dst_slot``, zero-filled to ``size`` bytes so it can be a map key.
    Clobbers r0-r5."""
    a(mov(R1, 0), *[stx(8, FP, dst_slot + off, R1) for off in range(0, size, 8)])
    a(ldx(4, R3, ctx, field_offset), alu(AluOp.AND, R3, 0xFFFF), alu(AluOp.ADD, R3, ctx))
    a(mov(R1, FP), alu(AluOp.ADD, R1, dst_slot), mov(R2, size), call("probe_read_kernel_str"))


def copy_stack(a: Asm, dst: Reg | int, src: Reg | int, size: int, *, tmp: Reg = R1) -> None:
    """Copy ``size`` bytes (a multiple of 8) between the stack (an ``FP``
    offset, int) and memory behind a register (map values)."""
    for off in range(0, size, 8):
        a(ldx(8, tmp, src, off) if isinstance(src, Reg) else ldx(8, tmp, FP, src + off))
        a(stx(8, dst, off, tmp) if isinstance(dst, Reg) else stx(8, FP, dst + off, tmp))


def request_dev(a: Asm, dst: Reg, rq: Reg, *, scratch: Reg | None = None) -> None:
    """``dst = MKDEV(rq->q->disk->major, ->first_minor)`` of a block request
    (0 without a disk), as /proc/partitions numbers it (see tools.disks).
    Clobbers r0-r5, ``scratch`` (default r8) and the stack slots FP-24..-28."""
    from purebpf.asm import R8

    scratch = scratch or R8
    q = kernel_offset("request", "q")
    disk = kernel_offset("request_queue", "disk")
    read_kernel_chain(a, scratch, rq, [(q, 8), (disk, 8)], slot=-24)
    none = a.fresh("nodisk")
    a(mov(dst, 0), jmp(JmpOp.JEQ, scratch, 0, none))
    task_field(a, R1, scratch, ("gendisk", "major"), 4, slot=-24)
    a(alu(AluOp.LSH, R1, 20), stx(4, FP, -28, R1))
    task_field(a, R1, scratch, ("gendisk", "first_minor"), 4, slot=-24)
    a(ldx(4, dst, FP, -28), alu(AluOp.OR, dst, R1))
    a.mark(none)
    a(mov(R0, 0))


def sock_of_fd(a: Asm, dst: Reg, fd_slot: int, *, slot: int = -56) -> None:
    """``dst = current->files->fdt->fd[fd]->private_data->sk``: the ``struct
    sock`` behind a socket fd of the current task (the fd is the u64 at
    ``FP + fd_slot``); 0 when a read fails.  Use only on fds known to be
    sockets (after a socket syscall succeeded).  Clobbers r0-r5."""
    a(call("get_current_task"), mov(dst, R0))
    read_kernel_chain(a, dst, dst, [(kernel_offset("task_struct", "files"), 8),
                                    (kernel_offset("files_struct", "fdt"), 8),
                                    (kernel_offset("fdtable", "fd"), 8)], slot=slot)
    a(ldx(8, R1, FP, fd_slot), alu(AluOp.AND, R1, 0xFFFF), alu(AluOp.LSH, R1, 3), alu(AluOp.ADD, dst, R1))
    read_kernel_chain(a, dst, dst, [(0, 8), (kernel_offset("file", "private_data"), 8),
                                    (kernel_offset("socket", "sk"), 8)], slot=slot)
