"""``Program``: one loaded BPF program, owned through its fd.

    prog = Program(ProgType.SOCKET_FILTER, [mov(R0, 0), exit_()], name="drop_all")

Loading first runs without a verifier log (fast, like libbpf); when the kernel
refuses, it loads again with a log so the error carries the verifier's reason.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os

from purebpf._record import Record
from purebpf.asm.instruction import Instruction, encode
from purebpf.errors import InvalidInputError, SyscallError, VerifierError, errno_hint, errno_name
from purebpf.sys import FD, AttachType, Cmd, ProgType, bpf_raw
from purebpf.sys.attrs import ProgLoadAttr
from purebpf.sys.objects import fd_by_id, obj_get, obj_pin

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Sequence

    from purebpf.programs.info import ProgramInfo
    from purebpf.programs.testrun import TestRunResult

LOG_SIZE_START = 1 << 20
LOG_SIZE_MAX = (1 << 30) - 1
ENOSPC = 28


class ProgramSpec(Record):
    """Everything PROG_LOAD needs; the ELF loader and the tracer build these.
    ``attach_btf_obj_fd`` is the BTF object (module/vmlinux) of ``attach_btf_id``,
    or the target program's fd for EXT.  (A :class:`~purebpf._record.Record`,
    not a dataclass: see there why.)"""

    _fields = ("type", "insns", "license", "name", "expected_attach_type", "attach_btf_id", "attach_btf_obj_fd",
               "prog_btf_fd", "func_info", "func_info_rec_size", "line_info", "line_info_rec_size", "flags",
               "kern_version", "ifindex", "fd_array")

    def __init__(self, type: ProgType, insns: Sequence[Instruction] | bytes, license: str = "GPL", name: str = "",
                 expected_attach_type: AttachType | int = 0, attach_btf_id: int = 0, attach_btf_obj_fd: int = 0,
                 prog_btf_fd: int = 0, func_info: bytes = b"", func_info_rec_size: int = 0, line_info: bytes = b"",
                 line_info_rec_size: int = 0, flags: int = 0, kern_version: int = 0, ifindex: int = 0,
                 fd_array: Sequence[int] = ()) -> None:
        self.type = type
        self.insns = insns
        self.license = license
        self.name = name
        self.expected_attach_type = expected_attach_type
        self.attach_btf_id = attach_btf_id
        self.attach_btf_obj_fd = attach_btf_obj_fd
        self.prog_btf_fd = prog_btf_fd
        self.func_info = func_info
        self.func_info_rec_size = func_info_rec_size
        self.line_info = line_info
        self.line_info_rec_size = line_info_rec_size
        self.flags = flags
        self.kern_version = kern_version
        self.ifindex = ifindex
        self.fd_array = fd_array

    def bytecode(self) -> bytes:
        return self.insns if isinstance(self.insns, bytes) else encode(list(self.insns))


def _require_program_fd(fd: int) -> None:
    """OBJ_GET_INFO_BY_FD answers for maps and links too, so check the fd's kind first."""
    try:
        kind = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return  # no /proc: let the kernel's answer stand
    if kind != "anon_inode:bpf-prog":
        raise InvalidInputError(f"fd {fd} is not a BPF program (it is {kind})")


def _kernel_name(name: str) -> bytes:
    clean = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return clean.encode()[:15]


class Program:
    """A loaded program.  ``log_level`` > 0 always loads with a verifier log and
    keeps it in :attr:`verifier_log` (level 2 adds per-instruction state).  The log buffer
    grows until the log fits, unless ``log_size`` fixes its size: then a log that does not
    fit fails the load with ENOSPC, as the kernel reports it."""

    def __init__(self, type_: ProgType | ProgramSpec, insns: Sequence[Instruction] | bytes = (), *,
                 license: str = "GPL", name: str = "", log_level: int = 0, log_size: int = 0,
                 **spec_fields) -> None:
        spec = type_ if isinstance(type_, ProgramSpec) else ProgramSpec(
            ProgType(type_), insns, license=license, name=name, **spec_fields)
        if not isinstance(log_size, int) or log_size < 0 or log_size > LOG_SIZE_MAX:
            raise InvalidInputError(f"invalid log_size {log_size!r}: expected 0 (grow as needed) to {LOG_SIZE_MAX}")
        self.spec = spec
        self.verifier_log = ""
        self._fd = FD(self._load(log_level, log_size))

    @classmethod
    def _wrap(cls, fd: int, spec: ProgramSpec | None = None) -> Program:
        self = cls.__new__(cls)
        self._fd = FD(fd)
        self.spec = spec  # type: ignore[assignment]
        self.verifier_log = ""
        return self

    @classmethod
    def from_fd(cls, fd: int) -> Program:
        """Wrap an existing program fd; the new object owns (and will close) it.

        The spec is rebuilt from the kernel's info: type, name and the
        translated (post-verifier) instructions."""
        owner = FD(fd)
        try:
            _require_program_fd(fd)
            from purebpf.programs.info import program_info

            info = program_info(fd)
            spec = ProgramSpec(ProgType(info.type), info.xlated, name=info.name,
                               license="GPL" if info.gpl else "", attach_btf_id=info.attach_btf_id)
        except BaseException:
            owner.close()
            raise
        return cls._wrap(owner.detach(), spec)

    @classmethod
    def from_pin(cls, path: str) -> Program:
        """Open the program pinned at ``path`` in bpffs."""
        return cls.from_fd(obj_get(path))

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open a loaded program by its id (see ``purebpf prog list``)."""
        return cls.from_fd(fd_by_id("prog", prog_id))

    # -- loading ------------------------------------------------------------------

    def _load(self, log_level: int, log_size: int = 0) -> int:
        spec = self.spec
        code = spec.bytecode()
        if not code:
            label = f"program '{spec.name}'" if spec.name else f"{spec.type.name.lower()} program"
            raise InvalidInputError(f"{label} has no instructions; the shortest valid program is "
                                    "`mov(R0, 0), exit_()`")
        # buffers referenced by address must outlive the syscall: keep them in locals
        insns = ctypes.create_string_buffer(code, len(code))
        lic = ctypes.create_string_buffer(spec.license.encode())
        finfo = ctypes.create_string_buffer(spec.func_info, len(spec.func_info)) if spec.func_info else None
        linfo = ctypes.create_string_buffer(spec.line_info, len(spec.line_info)) if spec.line_info else None
        fds = (ctypes.c_int32 * len(spec.fd_array))(*spec.fd_array) if spec.fd_array else None
        attr = ProgLoadAttr(
            prog_type=spec.type, insn_cnt=len(code) // 8, insns=ctypes.addressof(insns),
            license=ctypes.addressof(lic), kern_version=spec.kern_version, prog_flags=spec.flags,
            prog_name=_kernel_name(spec.name), prog_ifindex=spec.ifindex,
            expected_attach_type=int(spec.expected_attach_type), prog_btf_fd=spec.prog_btf_fd,
            attach_btf_id=spec.attach_btf_id, attach_prog_fd=spec.attach_btf_obj_fd,
        )
        if finfo is not None:
            attr.func_info, attr.func_info_rec_size = ctypes.addressof(finfo), spec.func_info_rec_size
            attr.func_info_cnt = len(spec.func_info) // spec.func_info_rec_size
        if linfo is not None:
            attr.line_info, attr.line_info_rec_size = ctypes.addressof(linfo), spec.line_info_rec_size
            attr.line_info_cnt = len(spec.line_info) // spec.line_info_rec_size
        if fds is not None:
            attr.fd_array = ctypes.addressof(fds)

        if log_level == 0:
            ret, err = self._try_load(attr)
            if ret >= 0:
                return ret
            # EPERM EACCES EINVAL E2BIG ENOSPC, and EFAULT (a branch sequence too complex): the log says why
            if err not in (1, 13, 22, 7, 28, 14):
                raise self._error(err, "")
            log_level = 1
        size = log_size or LOG_SIZE_START
        while True:
            buf = ctypes.create_string_buffer(size)
            attr.log_level, attr.log_size, attr.log_buf = log_level, size, ctypes.addressof(buf)
            ret, err = self._try_load(attr)
            log = buf.value.decode(errors="replace")
            if ret >= 0:
                self.verifier_log = log
                return ret
            if err == ENOSPC and size < LOG_SIZE_MAX and not log_size:
                size = min(size * 8, LOG_SIZE_MAX)
                continue
            raise self._error(err, log)

    @staticmethod
    def _try_load(attr: ProgLoadAttr) -> tuple[int, int]:
        for _ in range(5):  # the kernel may ask to retry
            ret, err = bpf_raw(Cmd.PROG_LOAD, attr)
            if ret >= 0 or err not in (4, 11):
                return ret, err
        return ret, err

    @property
    def _label(self) -> str:
        return f"program '{self.spec.name}'" if self.spec.name else f"{self.spec.type.name.lower()} program"

    def _error(self, err: int, log: str) -> SyscallError:
        label = self._label
        if not log.strip() or _only_statistics(log):
            return SyscallError(f"loading {label} failed: {errno_name(err)} ({_load_hint(err, self.spec)})",
                                err, "BPF_PROG_LOAD")
        reason = _verifier_reason(log)
        source = _last_source_line(log)
        where = f" at `{source}`" if source else ""
        hint = _reason_hint(reason)
        return VerifierError(f"the verifier rejected {label}{where}: {reason}{hint}{LOG_HINT}", err, log, source,
                             self.spec.insns)

    # -- running and inspecting ---------------------------------------------------

    def test_run(self, data: bytes = b"", *, ctx: bytes | None = None, repeat: int = 1,
                 data_out_size: int | None = None, flags: int = 0, cpu: int = 0) -> TestRunResult:
        """Run the program on ``data`` (packet types) or ``ctx`` (raw_tp, syscall)
        without attaching it (``BPF_PROG_TEST_RUN``); see :mod:`purebpf.programs.testrun`."""
        from purebpf.programs.testrun import test_run

        return test_run(self.fd, self.type, self._label, data, ctx=ctx, repeat=repeat, data_out_size=data_out_size,
                        flags=flags, cpu=cpu)

    def info(self) -> ProgramInfo:
        from purebpf.programs.info import program_info  # imported on first use: not on the load path

        return program_info(self.fd)

    @property
    def id(self) -> int:
        return self.info().id

    def pin(self, path: str) -> None:
        """Pin at ``path`` in bpffs so the program outlives this process."""
        obj_pin(self.fd, path)

    # -- accessors ----------------------------------------------------------------

    @property
    def fd(self) -> int:
        return self._fd.raw

    @property
    def type(self) -> ProgType:
        return self.spec.type

    @property
    def name(self) -> str:
        return self.spec.name

    def close(self) -> None:
        self._fd.close()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd.raw}"
        return f"<Program {self.type.name} '{self.name}' {state}>"


def _verifier_reason(log: str) -> str:
    """The line of the verifier log that states the rejection (usually the last
    non-statistics line)."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    skip = ("processed ", "verification time", "stack depth", "max_states", "mark_read")
    for line in reversed(lines):
        if not line.startswith(skip) and not line.startswith(";"):
            return line
    return lines[-1] if lines else "no reason given"


def _only_statistics(log: str) -> bool:
    """True when the log holds nothing but the closing statistics line (the
    kernel refused before verifying, e.g. ENOTSUPP for struct_ops)."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    return all(ln.startswith(("processed ", "verification time", "stack depth")) for ln in lines)


def _load_hint(err: int, spec: ProgramSpec) -> str:
    if err == _errno.EPERM and spec.type in (ProgType.TRACING, ProgType.LSM, ProgType.EXT):
        return ("the kernel refuses this program type here (fentry/fexit/LSM/freplace need "
                "CONFIG_BPF_JIT trampolines and BPF LSM, and kernel lockdown may forbid them); "
                "`purebpf features` shows what this kernel supports")
    if err == _errno.EINVAL:
        return (f"this kernel does not accept {spec.type.name.lower()} programs with these attributes "
                "(unknown program type or expected_attach_type, or a missing attach_btf_id?)")
    return errno_hint(err)


LOG_HINT = " (full log in .log, or load with log_level=2)"  # for Python callers; command lines show a listing

# verifier reasons that deserve a fix in the message (matched by substring)
_REASON_HINTS = (
    ("GPL-restricted function", "load with license='GPL' (or a GPL-compatible license) to call GPL-only helpers"),
    ("unknown func", "this helper cannot be called from this program type on this kernel"),
    ("cannot use helper", "this helper cannot be called from this program type on this kernel"),
    ("invalid func", "this kernel does not know this helper id (too old?)"),
    ("!read_ok", "set the register before reading it (R0 must hold the return value at exit)"),
)


# helpers kernel lockdown withdraws, and the first mode that does (the verifier then words them as unknown)
_LOCKDOWN_HELPERS = {"bpf_probe_write_user": "integrity", "bpf_probe_read_kernel": "confidentiality",
                     "bpf_probe_read": "confidentiality", "bpf_probe_read_kernel_str": "confidentiality"}
_LOCKDOWN_ORDER = ("none", "integrity", "confidentiality")


def _reason_hint(reason: str) -> str:
    helper = next((h for h in _LOCKDOWN_HELPERS if f"{h}#" in reason), None)
    if helper and ("unknown func" in reason or "cannot use helper" in reason):
        from purebpf.sys.fs import lockdown_mode

        mode = lockdown_mode()
        if mode in _LOCKDOWN_ORDER and _LOCKDOWN_ORDER.index(mode) >= _LOCKDOWN_ORDER.index(_LOCKDOWN_HELPERS[helper]):
            return (f"; kernel lockdown ({mode}) withdraws {helper}: it needs a kernel booted without lockdown "
                    "(lockdown=none, no Secure Boot enforcement)")
    for needle, hint in _REASON_HINTS:
        if needle in reason:
            return f"; {hint}"
    return ""


def _last_source_line(log: str) -> str | None:
    """Source lines appear in the log as ``; <C source> @ file:line``; return the last."""
    for line in reversed(log.splitlines()):
        if line.startswith("; "):
            return line[2:].strip()
    return None
