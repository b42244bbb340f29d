"""System calls: completions, failures by errno, and latency, by process name
(and cgroup) and system call.

This is the agent's hottest path (two program runs per system call on every
CPU), so its kernel side is assembled by hand rather than written in the
bpftrace language, for what the language cannot say:

* the start time lives in task-local storage (``bpf_task_storage_get``):
  written in place at entry, read and cleared in place at exit, freed with
  the task; no hash update or delete per call, no table to size for the
  host's threads, no exit hook;
* raw tracepoints (``sys_enter`` / ``sys_exit``): no argument record built
  for the program; the system call number is kept next to the start time,
  since the raw ``sys_exit`` gives only the return value;
* one per-CPU map holds a series' count, latency sum and histogram buckets
  in one value, so a call costs one lookup; its key is built once (process
  name, cgroup id, call number) and reused, errno added, for the error map;
* the histogram has exactly the exposed buckets (1 us .. 17 s in 4x steps),
  found by a chain of compares that ends at the first for a fast call.

With ``latency: false`` only the classic ``raw_syscalls:sys_exit``
tracepoint runs (it carries the call number), counting calls and errors.
"""

from __future__ import annotations

import errno
import struct
import threading
from dataclasses import dataclass
from typing import Any

from purebpf.agent.filters import asm_filter
from purebpf.agent.metrics import Family, Histogram
from purebpf.agent.probes.base import LATENCY_BOUNDS, NS, MapUsage, Probe
from purebpf.errors import BPFError
from purebpf.sys.syscalls import syscall_name as _known_syscall

# key: comm[16], cgroup id, call number, errno (0 in the stats map)
KEY = struct.Struct("<16sQiI")
STATS_WORDS = 2 + len(LATENCY_BOUNDS) + 1  # count, sum of ns, a count per bucket (the bounds and +Inf)
# task storage: start ns (0: not in a timed call), calls made, then a key kept up to date for the task
START = struct.Struct("<QQ32s")
TS, CALLS, KEY_IN_START = 0, 8, 16
REFRESH_EVERY = 64  # calls between re-reads of the cached process name and cgroup
STACK_KEY = -KEY.size
ZERO_OFF = STACK_KEY - 8 * STATS_WORDS  # a zero value to insert a new key with
BPF_NOEXIST = 1
STORAGE_CREATE = 1  # BPF_LOCAL_STORAGE_GET_F_CREATE
# calls after which the cached name may be stale: exec changes it, prctl(PR_SET_NAME) may
RENAMING_CALLS = ("execve", "execveat", "prctl")


def errno_name(code: int) -> str:
    return errno.errorcode.get(code, str(code))


def syscall_name(nr: int) -> str:
    """A label for syscall ``nr``: its name, ``sys_<nr>`` when unknown, ``none`` for the
    negative number of a call the kernel refused before dispatch (seccomp, ptrace)."""
    if nr < 0:
        return "none"
    return _known_syscall(nr) or f"sys_{nr}"


@dataclass(frozen=True)
class KeyAt:
    """Where a program keeps the key: ``base`` register + ``off`` (the stack or the task's storage)."""
    base: Any
    off: int

    def field(self, name: str) -> int:
        return self.off + {"comm": 0, "cgroup": 16, "nr": 24, "errno": 28}[name]

    def addr(self, reg) -> list:
        from purebpf.asm import add, mov
        return [mov(reg, self.base), add(reg, self.off)]


def _add_mem(ptr, off: int, src) -> list:
    """``*(u64 *)(ptr + off) += src`` on a per-CPU slot: no other CPU writes it, no atomic needed."""
    from purebpf.asm import R5, add, ldx, stx
    return [ldx(8, R5, ptr, off), add(R5, src), stx(8, ptr, off, R5)]


def _bump(map_name: str, key: KeyAt, value_words: int, label: str, body: list, full: str) -> list:
    """Look ``key`` up in ``map_name`` (inserting zeros when new) and run ``body`` with R0
    pointing at the value; when the map is full, count a drop and go to ``full``."""
    from purebpf.asm import FP, R0, R1, R2, R3, R4, JmpOp, add, call, ja, jmp, ld_map_fd, mov, st
    lookup = [ld_map_fd(R1, map_name), *key.addr(R2), call("map_lookup_elem")]
    return [
        *lookup, jmp(JmpOp.JNE, R0, 0, f"{label}_have"),
        *[st(8, FP, ZERO_OFF + 8 * i, 0) for i in range(value_words)],
        ld_map_fd(R1, map_name), *key.addr(R2), mov(R3, FP), add(R3, ZERO_OFF),
        mov(R4, BPF_NOEXIST), call("map_update_elem"),  # fails when another CPU just added it: fine
        *lookup, jmp(JmpOp.JNE, R0, 0, f"{label}_have"),
        st(4, FP, ZERO_OFF, 0), ld_map_fd(R1, "dropped"), mov(R2, FP), add(R2, ZERO_OFF),
        call("map_lookup_elem"), jmp(JmpOp.JEQ, R0, 0, full), *_add_mem(R0, 0, 1), ja(full),
        body[0].with_label(f"{label}_have"), *body[1:],
    ]


def _record(key: KeyAt, latency: bool) -> list:
    """With the key filled (errno 0), R6 = return value, R7 = duration ns: count the call in
    ``stats`` (and time it) and, when it failed, in ``errors`` by errno."""
    from purebpf.asm import R0, R1, R2, R6, R7, JmpOp, ja, jmp, ld_imm64, mov, neg, stx
    body = _add_mem(R0, 0, 1)  # count
    if latency:
        body += _add_mem(R0, 8, R7)
        for i, bound in enumerate(LATENCY_BOUNDS):  # a jump's immediate is 32 bits: larger bounds in R2
            body += [jmp(JmpOp.JLE, R7, bound, f"b{i}")] if bound < 1 << 31 else [
                ld_imm64(R2, bound), jmp(JmpOp.JLE, R7, R2, f"b{i}")]
        body.append(ja(f"b{len(LATENCY_BOUNDS)}"))
        for i in range(len(LATENCY_BOUNDS) + 1):
            step = _add_mem(R0, 16 + 8 * i, 1)
            body += [step[0].with_label(f"b{i}"), *step[1:], ja("counted")]
    insns = _bump("stats", key, STATS_WORDS if latency else 1, "stats", body, "counted")
    insns += [jmp(JmpOp.JSGE, R6, 0, "out").with_label("counted"),
              mov(R1, R6), neg(R1), stx(4, key.base, key.field("errno"), R1)]
    return insns + _bump("errors", key, 1, "errors", _add_mem(R0, 0, 1), "out")


def _who(key: KeyAt, cgroup_labels: bool) -> list:
    """Fill the key's process name and cgroup id (0 without cgroup labels)."""
    from purebpf.asm import R0, R1, R2, call, mov, st, stx
    insns = [*key.addr(R1), mov(R2, 16), call("get_current_comm")]
    if cgroup_labels:
        return insns + [call("get_current_cgroup_id"), stx(8, key.base, key.field("cgroup"), R0)]
    return insns + [st(8, key.base, key.field("cgroup"), 0)]


def _filter(filters) -> list:
    """Filters at the program's start: fall through for a watched process, else go to ``out``."""
    from purebpf.asm import FP, R0, R1, R2, R7, AluOp, add, alu, call, mov
    if not (filters.pids or filters.comms or filters.cgroups):
        return []
    insns = []
    if filters.pids:
        insns += [call("get_current_pid_tgid"), alu(AluOp.RSH, R0, 32), mov(R7, R0)]
    if filters.comms:
        insns += [mov(R1, FP), add(R1, STACK_KEY), mov(R2, 16), call("get_current_comm")]
    return insns + asm_filter(filters, STACK_KEY, "out")


def enter_program(filters) -> list:
    """raw_tp sys_enter(regs, id): note the call number and the time in the task's storage."""
    from purebpf.asm import R0, R1, R2, R3, R4, R6, R8, JmpOp, call, exit_, jmp, ld_map_fd, ldx, mov, stx
    nr = KeyAt(R8, KEY_IN_START).field("nr")
    return [
        mov(R6, R1), *_filter(filters),
        call("get_current_task_btf"), mov(R2, R0), ld_map_fd(R1, "start"), mov(R3, 0), mov(R4, STORAGE_CREATE),
        call("task_storage_get"), jmp(JmpOp.JEQ, R0, 0, "out"), mov(R8, R0),
        ldx(8, R1, R6, 8), stx(4, R8, nr, R1),
        call("ktime_get_ns"), stx(8, R8, TS, R0),  # last: the time taken here is not charged to the call
        mov(R0, 0).with_label("out"), exit_(),
    ]


def exit_program(cgroup_labels: bool) -> list:
    """raw_tp sys_exit(regs, ret): a call whose start this task noted is timed and counted.

    The key (name, cgroup, call number) lives in the task's storage: the name and cgroup
    are read again only after a call that may have changed them and every
    :data:`REFRESH_EVERY` calls, which saves two helper calls on nearly every call; a
    rename through /proc or a move to another cgroup by another process shows within
    that many calls."""
    from purebpf.asm import (
        R0,
        R1,
        R2,
        R3,
        R4,
        R6,
        R7,
        R8,
        AluOp,
        JmpOp,
        alu,
        call,
        exit_,
        ja,
        jmp,
        ld_map_fd,
        ldx,
        mov,
        st,
        stx,
    )
    from purebpf.sys.syscalls import syscall_names
    key = KeyAt(R8, KEY_IN_START)
    renaming = [nr for nr, name in syscall_names().items() if name in RENAMING_CALLS]
    return [
        ldx(8, R6, R1, 8), call("ktime_get_ns"), mov(R7, R0),
        call("get_current_task_btf"), mov(R2, R0), ld_map_fd(R1, "start"), mov(R3, 0), mov(R4, 0),
        call("task_storage_get"), jmp(JmpOp.JEQ, R0, 0, "out"), mov(R8, R0),
        ldx(8, R1, R8, TS), jmp(JmpOp.JEQ, R1, 0, "out"),
        st(8, R8, TS, 0),  # consumed: a call whose entry was missed is never timed
        alu(AluOp.SUB, R7, R1),
        ldx(8, R1, R8, CALLS), mov(R2, R1), alu(AluOp.ADD, R2, 1), stx(8, R8, CALLS, R2),
        alu(AluOp.AND, R1, REFRESH_EVERY - 1), jmp(JmpOp.JEQ, R1, 0, "refresh"),
        ldx(4, R1, R8, key.field("nr")),
        *[jmp(JmpOp.JEQ, R1, nr, "refresh") for nr in renaming],
        ja("keyed"),
        *_label(_who(key, cgroup_labels), "refresh"),
        st(4, R8, key.field("errno"), 0).with_label("keyed"), *_record(key, True),
        mov(R0, 0).with_label("out"), exit_(),
    ]


def count_program(filters, cgroup_labels: bool) -> list:
    """tracepoint raw_syscalls:sys_exit (id at 8, ret at 16): calls and errors, no timing."""
    from purebpf.asm import FP, R0, R1, R6, R9, exit_, ldx, mov, st, stx
    key = KeyAt(FP, STACK_KEY)
    return [
        mov(R6, R1), *_filter(filters), ldx(8, R9, R6, 8), ldx(8, R6, R6, 16),
        *_who(key, cgroup_labels), stx(4, FP, key.field("nr"), R9), st(4, FP, key.field("errno"), 0),
        *_record(key, False),
        mov(R0, 0).with_label("out"), exit_(),
    ]


def _label(insns: list, label: str) -> list:
    return [insns[0].with_label(label), *insns[1:]]


def start_storage_btf() -> tuple[Any, int, int]:
    """(BTF fd, key type id, value type id) for the task storage map: the kernel wants its types."""
    from purebpf.btf.builder import BTFBuilder
    from purebpf.btf.load import load_btf
    b = BTFBuilder()
    key = b.add_int("int", 4, signed=True)
    u64 = b.add_int("unsigned long long", 8)
    u8 = b.add_int("unsigned char", 1)
    value = b.add_struct("purebpf_syscall_start", [("ns", u64), ("calls", u64), ("key", b.add_array(u8, 32))])
    return load_btf(b.to_bytes()), key, value


class SyscallsProbe(Probe):
    name = "syscalls"
    help = "system calls: count, errors by errno, latency histogram, by process name and syscall"
    params = {"latency": True}
    metrics = {
        "purebpf_syscalls": "System calls completed, by process name and system call.",
        "purebpf_syscall_errors": "System calls that returned an error, by process name, system call and errno.",
        "purebpf_syscall_latency_seconds": "Time from system call entry to exit, by process name and system call.",
    }

    def __init__(self, params, filters, ctx) -> None:
        super().__init__(params, filters, ctx)
        self.maps: dict[str, Any] = {}
        self.progs: list = []
        self.links: list = []
        self.lock = threading.Lock()
        self.sizes: dict[str, int] = {}

    def programs(self) -> list[tuple[str, list]]:
        """(attach point, instructions) of each program; ``raw:NAME`` is a raw tracepoint."""
        labels = self.ctx.cgroups is not None
        if self.p["latency"]:
            return [("raw:sys_enter", enter_program(self.filters)), ("raw:sys_exit", exit_program(labels))]
        return [("raw_syscalls:sys_exit", count_program(self.filters, labels))]

    def check(self) -> None:
        from purebpf.asm import assemble
        for _, insns in self.programs():
            assemble(insns)

    def start(self) -> None:
        from purebpf.asm import assemble, resolve_maps
        from purebpf.links import RawTracepoint, Tracepoint
        from purebpf.maps import Map, MapSpec
        from purebpf.programs import Program, ProgramSpec
        from purebpf.sys import MapType, ProgType
        from purebpf.sys.constants import MapFlags
        n = self.ctx.map_entries
        words = STATS_WORDS if self.p["latency"] else 1
        btf = None
        try:
            # no preallocation: a per-CPU value for every possible entry would cost entries x CPUs up front
            self.maps = {
                "stats": Map(MapSpec(MapType.PERCPU_HASH, KEY.size, 8 * words, n, name="agent_sys_stats",
                                     flags=MapFlags.NO_PREALLOC)),
                "errors": Map(MapSpec(MapType.PERCPU_HASH, KEY.size, 8, n, name="agent_sys_errors",
                                      flags=MapFlags.NO_PREALLOC)),
                "dropped": Map(MapSpec(MapType.PERCPU_ARRAY, 4, 8, 1, name="agent_sys_drops")),
            }
            if self.p["latency"]:
                btf, key_id, value_id = start_storage_btf()
                self.maps["start"] = Map(MapSpec(MapType.TASK_STORAGE, 4, START.size, 0, name="agent_sys_start",
                                                 flags=MapFlags.NO_PREALLOC, btf_fd=btf.raw,
                                                 btf_key_type_id=key_id, btf_value_type_id=value_id))
            fds = {k: m.fd for k, m in self.maps.items()}
            for point, insns in self.programs():
                raw = point.startswith("raw:")
                spec = ProgramSpec(ProgType.RAW_TRACEPOINT if raw else ProgType.TRACEPOINT,
                                   resolve_maps(assemble(insns), fds), name="agent_" + point.rpartition(":")[2])
                prog = Program(spec)
                self.progs.append(prog)
                self.links.append(RawTracepoint(prog, point[4:]) if raw else Tracepoint(prog, *point.split(":")))
        except BaseException:
            self.stop()
            raise
        finally:
            if btf is not None:
                btf.close()

    def stop(self) -> None:
        with self.lock:
            for obj in [*self.links, *self.progs, *self.maps.values()]:
                try:
                    obj.close()
                except BPFError:
                    pass
            self.links, self.progs, self.maps, self.sizes = [], [], {}, {}

    def _read(self, name: str, words: int) -> list[tuple[tuple, list[int]]]:
        """(key, per-word totals over CPUs) of a per-CPU map."""
        m = self.maps[name]
        fmt = struct.Struct(f"<{words}Q")
        slot = fmt.size
        out = []
        for k, v in m.items_raw():
            total = [0] * words
            for cpu in range(len(v) // slot):
                for i, x in enumerate(fmt.unpack_from(v, cpu * slot)):
                    total[i] += x
            out.append((KEY.unpack(k), total))
        self.sizes[name] = len(out)
        return out

    def _who(self, key: tuple) -> tuple:
        comm = key[0].split(b"\0", 1)[0].decode(errors="replace")
        return self.who_labels((comm, key[1]))[0]

    def collect(self) -> list[Family]:
        with self.lock:
            if not self.maps:
                return []
            latency = self.p["latency"]
            stats = self._read("stats", STATS_WORDS if latency else 1)
            errors = self._read("errors", 1)
            self.resolve_cgroups([(None, k[1]) for k, _ in stats + errors])
            by_call = self.who + ("syscall",)
            calls = self.family("purebpf_syscalls", "counter", by_call)
            lat = self.family("purebpf_syscall_latency_seconds", "histogram", by_call)
            for key, words in stats:
                labels = self._who(key) + (syscall_name(key[2]),)
                calls.add(labels, words[0])
                if latency:
                    running, buckets = 0, []
                    for bound, n in zip([*LATENCY_BOUNDS, None], words[2:], strict=True):
                        running += n
                        buckets.append((float("inf") if bound is None else bound / NS, running))
                    lat.add(labels, Histogram(buckets, words[1] / NS, running))
            errs = self.family("purebpf_syscall_errors", "counter", by_call + ("errno",))
            for key, words in errors:
                errs.add(self._who(key) + (syscall_name(key[2]), errno_name(key[3])), words[0])
            return [calls, lat, errs] if latency else [calls, errs]

    def lost(self) -> int:
        """Program runs the kernel skipped, and calls not counted because a map was full."""
        with self.lock:
            if not self.maps:
                return 0
            total = 0
            for prog in self.progs:
                try:
                    total += prog.info().recursion_misses
                except BPFError:
                    continue
            raw = self.maps["dropped"].lookup_raw(bytes(4)) or b""
            return total + sum(x for (x,) in struct.iter_unpack("<Q", raw))

    def map_usage(self) -> list[MapUsage]:
        with self.lock:
            out = []
            for name in ("stats", "errors"):
                m = self.maps.get(name)
                if m is not None:
                    size = self.sizes.get(name)
                    if size is None:
                        size = sum(1 for _ in m.keys_raw())
                    out.append(MapUsage(name, size, m.max_entries))
            return out
