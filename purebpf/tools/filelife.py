"""filelife: trace short-lived files: created and deleted, with their age (libbpf-tools' columns).

    purebpf filelife -p 1234     # files process 1234 creates (deleted by anyone)

Without kprobes on vfs_create/vfs_unlink, the syscalls are watched instead.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from purebpf.asm import FP, R0, R1, R2, R3, R6, R7, R8, R9, AluOp, JmpOp, Reg, alu, call, jmp, ldx, mov, stx
from purebpf.programs import ProgType
from purebpf.sys.fs import tracepoint_id
from purebpf.tools import common, kit
from purebpf.tools.common import cfmt
from purebpf.tools.session import Session

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

OBSERVED = """\
what is observed:
  a file is born when open(), openat(), openat2() with O_CREAT, or creat(), returns
  a descriptor to a file that call created (FMODE_CREATED); it dies when unlink() or
  unlinkat() (not of a directory) succeeds.  Paths are paired in user space as absolute
  paths: a relative one is resolved against the process's cwd (or the dfd's directory)
  under /proc when the event is read, so a process gone by then is paired by the same
  PID and spelling.  AGE is the time between the two calls; files created before the
  tool started, and files renamed or removed otherwise, are not shown.  FILE is the
  last path component, as libbpf-tools prints it (JSON adds the full path)."""

AT_FDCWD = -100
AT_REMOVEDIR = 0x200
FMODE_CREATED = 1 << 20  # file->f_mode: this open created the file
CREATE, DELETE = 0, 1
EVENT = struct.Struct("<QIIq16s")  # ts pid kind dfd comm, then the path
PATH_MAX = 256
MAX_TRACKED = 8192  # libbpf-tools' map size: the oldest creations are forgotten first

# syscall -> (kind, dfd field, path field, flags field); openat2's flags live in struct open_how
SYSCALLS = {"open": (CREATE, None, "filename", "flags"), "openat": (CREATE, "dfd", "filename", "flags"),
            "openat2": (CREATE, "dfd", "filename", "how"), "creat": (CREATE, None, "pathname", None),
            "unlink": (DELETE, None, "pathname", None), "unlinkat": (DELETE, "dfd", "pathname", "flag")}


def arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = OBSERVED
    common.add_pid(p, help="process ID to trace (the creator)")
    common.add_duration(p)
    common.add_json(p)


def _exists(name: str) -> bool:
    try:
        tracepoint_id("syscalls", name)
        return True
    except Exception:  # noqa: BLE001 - absent tracepoint: no such syscall here
        return False


def _enter(s: Session, args: argparse.Namespace, stash_fd: int, name: str) -> None:
    """Keep (path pointer, dfd, kind) per thread when the call may create or delete a file."""
    kind, dfd, path, flags = SYSCALLS[name]
    f = kit.tp_fields("syscalls", f"sys_enter_{name}")
    a = kit.Asm()
    a(mov(R6, R1))
    kit.pid_tgid(a, R7)
    if kind == CREATE:
        kit.filter_task(a, R7, tgid=args.pid)
    if flags == "how":
        a(mov(R1, FP), alu(AluOp.ADD, R1, -40), mov(R2, 8), ldx(8, R3, R6, f["how"].offset),
          call("probe_read_user"), jmp(JmpOp.JNE, R0, 0, a.out), ldx(8, R1, FP, -40))
    elif flags is not None:
        a(ldx(8, R1, R6, f[flags].offset))
    if flags is not None:
        a(alu(AluOp.AND, R1, os.O_CREAT if kind == CREATE else AT_REMOVEDIR))
        a(jmp(JmpOp.JEQ if kind == CREATE else JmpOp.JNE, R1, 0, a.out))
    a(stx(4, FP, -4, R7), ldx(8, R1, R6, f[path].offset), stx(8, FP, -32, R1))
    if dfd is None:
        a(mov(R1, AT_FDCWD))
    else:
        kit.load_field(a, R1, R6, f[dfd].offset, 8)
        kit.sext32(a, R1)
    a(stx(8, FP, -24, R1), mov(R1, kind), stx(8, FP, -16, R1))
    kit.map_update(a, stash_fd, -4, -32)
    s.tracepoint(a.load(ProgType.TRACEPOINT, f"life_{name}"), "syscalls", f"sys_enter_{name}")


def _created_by_this_open(a: kit.Asm, fd: Reg, fail: str) -> None:
    """Go to ``fail`` unless ``current->files->fdt->fd[fd]->f_mode`` has FMODE_CREATED
    (O_CREAT on an existing file opens it: no birth).  Clobbers r0-r5 and r9."""
    a(call("get_current_task"), mov(R9, R0))
    kit.read_kernel_chain(a, R9, R9, [(kit.kernel_offset("task_struct", "files"), 8),
                                      (kit.kernel_offset("files_struct", "fdt"), 8),
                                      (kit.kernel_offset("fdtable", "fd"), 8)], slot=-56)
    a(mov(R1, fd), alu(AluOp.AND, R1, 0x7FFFFFFF), alu(AluOp.LSH, R1, 3), alu(AluOp.ADD, R9, R1))
    kit.read_kernel_chain(a, R9, R9, [(0, 8), (kit.kernel_offset("file", "f_mode"), 4)], slot=-56)
    a(alu(AluOp.AND, R9, FMODE_CREATED), jmp(JmpOp.JEQ, R9, 0, fail))


def _exit(s: Session, stash_fd: int, ring_fd: int, drops, name: str) -> None:
    """On success, send (time, PID, kind, dfd, COMM, path) for user space to pair."""
    kind = SYSCALLS[name][0]
    a = kit.Asm()
    cleanup = a.fresh("cleanup")
    a(mov(R6, R1))
    kit.take_stash(a, stash_fd, R7)
    a(ldx(8, R8, R6, kit.tp_fields("syscalls", f"sys_exit_{name}")["ret"].offset))
    if kind == CREATE:
        a(jmp(JmpOp.JSLT, R8, 0, cleanup))
        _created_by_this_open(a, R8, cleanup)
    else:
        a(jmp(JmpOp.JNE, R8, 0, cleanup))
    kit.reserve(a, ring_fd, EVENT.size + PATH_MAX, R6, drops, cleanup)
    a(call("ktime_get_ns"), stx(8, R6, 0, R0))
    kit.pid_tgid(a, R0)
    a(alu(AluOp.RSH, R0, 32), stx(4, R6, 8, R0), mov(R1, kind), stx(4, R6, 12, R1), ldx(8, R1, R7, 8),
      stx(8, R6, 16, R1))
    a(mov(R1, R6), alu(AluOp.ADD, R1, 24), mov(R2, 16), call("get_current_comm"))
    a(mov(R1, R6), alu(AluOp.ADD, R1, EVENT.size), mov(R2, PATH_MAX), ldx(8, R3, R7, 0),
      call("probe_read_user_str"))
    kit.submit(a, R6)
    a.mark(cleanup)
    kit.map_delete(a, stash_fd, -4)
    s.tracepoint(a.load(ProgType.TRACEPOINT, f"life_x_{name}"), "syscalls", f"sys_exit_{name}")


def build(s: Session, args: argparse.Namespace, ring_fd: int, drops) -> None:
    stash = s.hash(4, 24, "life_start")  # path pointer, dfd, kind
    for name in SYSCALLS:
        if _exists(f"sys_enter_{name}"):
            _enter(s, args, stash.fd, name)
            _exit(s, stash.fd, ring_fd, drops, name)


def resolve(pid: int, dfd: int, path: str) -> str | None:
    """The absolute path the call named, or None when /proc no longer tells."""
    if path.startswith("/"):
        return os.path.normpath(path)
    base = f"/proc/{pid}/cwd" if dfd == AT_FDCWD else f"/proc/{pid}/fd/{dfd}"
    try:
        return os.path.normpath(os.path.join(os.readlink(base), path))
    except OSError:
        return None


@dataclass
class Births:
    """Creation times by absolute path; a path /proc could not resolve is
    keyed by (PID, dfd, spelling), which its deletion by the same process finds."""

    times: dict
    spelled: dict

    def born(self, ts: int, pid: int, dfd: int, path: str) -> None:
        spelling = (pid, dfd, path)
        key = resolve(pid, dfd, path) or spelling
        self.times.pop(key, None)
        self.times[key] = ts
        self.spelled[spelling] = key
        while len(self.times) > MAX_TRACKED:
            del self.times[next(iter(self.times))]
        while len(self.spelled) > MAX_TRACKED:
            del self.spelled[next(iter(self.spelled))]

    def died(self, pid: int, dfd: int, path: str) -> tuple[int, str] | None:
        """(creation time, absolute path or spelling) of a known file, forgotten now."""
        key = resolve(pid, dfd, path)
        if key not in self.times:
            key = self.spelled.pop((pid, dfd, path), None)
        if key is None or key not in self.times:
            return None
        return self.times.pop(key), key if isinstance(key, str) else path


def run(args: argparse.Namespace) -> int:
    common.require_process(args.pid)
    out = common.Output(args.json)
    births = Births({}, {})

    def on_event(data: bytes) -> None:
        ts, pid, kind, dfd, comm = EVENT.unpack_from(data)
        path = data[EVENT.size:].split(b"\0", 1)[0].decode(errors="replace")
        if kind == CREATE:
            births.born(ts, pid, dfd, path)
            return
        known = births.died(pid, dfd, path)
        if known is None:
            return
        born, full = known
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        age, now, name = (ts - born) / 1e9, common.Clock.hms(), os.path.basename(full)
        out.row(cfmt("%-8s %-6d %-16s %-7.2f %s", now, pid, comm, age, name),
                {"time": now, "pid": pid, "comm": comm, "age_s": round(age, 9), "file": name, "path": full})

    with Session() as s:
        ring = s.ring()
        drops = s.drops()
        build(s, args, ring.fd, drops)
        reader = s.reader(ring, on_event, drops)
        out.text("Tracing the lifespan of short-lived files ... Hit Ctrl-C to end.")
        out.header(cfmt("%-8s %-6s %-16s %-7s %s", "TIME", "PID", "COMM", "AGE(s)", "FILE"))
        common.ready(out)
        common.run_loop(reader.poll, out, duration=args.duration)
        reader.consume()
        common.report_lost(reader)
    return 0
