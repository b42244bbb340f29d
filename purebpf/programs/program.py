"""``Program``: one loaded BPF program, owned through its fd.

    prog = Program(ProgType.SOCKET_FILTER, [mov(R0, 0), exit_()], name="drop_all")

Loading first runs without a verifier log (fast, like libbpf); when the kernel
refuses, it loads again with a log so the error carries the verifier's reason.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field

from purebpf.asm.instruction import Instruction, encode
from purebpf.errors import SyscallError, VerifierError, errno_hint
from purebpf.sys import FD, AttachType, Cmd, ProgType, bpf_raw
from purebpf.sys.attrs import ProgLoadAttr

LOG_SIZE_START = 1 << 20
LOG_SIZE_MAX = (1 << 30) - 1
ENOSPC = 28


@dataclass
class ProgramSpec:
    """Everything PROG_LOAD needs; the ELF loader and the tracer build these."""
    type: ProgType
    insns: Sequence[Instruction] | bytes
    license: str = "GPL"
    name: str = ""
    expected_attach_type: AttachType | int = 0
    attach_btf_id: int = 0
    attach_btf_obj_fd: int = 0   # BTF object (module/vmlinux) of attach_btf_id, or target prog fd for EXT
    prog_btf_fd: int = 0
    func_info: bytes = b""
    func_info_rec_size: int = 0
    line_info: bytes = b""
    line_info_rec_size: int = 0
    flags: int = 0
    kern_version: int = 0
    ifindex: int = 0
    fd_array: Sequence[int] = field(default_factory=tuple)

    def bytecode(self) -> bytes:
        return self.insns if isinstance(self.insns, bytes) else encode(list(self.insns))


def _kernel_name(name: str) -> bytes:
    clean = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return clean.encode()[:15]


class Program:
    """A loaded program.  ``log_level`` > 0 always loads with a verifier log and
    keeps it in :attr:`verifier_log` (level 2 adds per-instruction state)."""

    def __init__(self, type_: ProgType | ProgramSpec, insns: Sequence[Instruction] | bytes = (), *,
                 license: str = "GPL", name: str = "", log_level: int = 0, **spec_fields) -> None:
        spec = type_ if isinstance(type_, ProgramSpec) else ProgramSpec(
            ProgType(type_), insns, license=license, name=name, **spec_fields)
        self.spec = spec
        self.verifier_log = ""
        self._fd = FD(self._load(log_level))

    @classmethod
    def _wrap(cls, fd: int, spec: ProgramSpec | None = None) -> Program:
        self = cls.__new__(cls)
        self._fd = FD(fd)
        self.spec = spec  # type: ignore[assignment]
        self.verifier_log = ""
        return self

    # -- loading ------------------------------------------------------------------

    def _load(self, log_level: int) -> int:
        spec = self.spec
        code = spec.bytecode()
        if not code:
            raise VerifierError(f"program '{spec.name}' has no instructions", 22, "")
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
            if err not in (1, 13, 22, 7, 28):  # EPERM EACCES EINVAL E2BIG ENOSPC: the log may say why
                raise self._error(err, "")
            log_level = 1
        size = LOG_SIZE_START
        while True:
            buf = ctypes.create_string_buffer(size)
            attr.log_level, attr.log_size, attr.log_buf = log_level, size, ctypes.addressof(buf)
            ret, err = self._try_load(attr)
            log = buf.value.decode(errors="replace")
            if ret >= 0:
                self.verifier_log = log
                return ret
            if err == ENOSPC and size < LOG_SIZE_MAX:
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

    def _error(self, err: int, log: str) -> SyscallError:
        label = f"program '{self.spec.name}'" if self.spec.name else f"{self.spec.type.name.lower()} program"
        if not log.strip():
            return SyscallError(f"loading {label} failed: {errno_hint(err)}", err, "BPF_PROG_LOAD")
        reason = _verifier_reason(log)
        source = _last_source_line(log)
        where = f" at `{source}`" if source else ""
        return VerifierError(f"the verifier rejected {label}{where}: {reason} "
                             "(full log in .log, or load with log_level=2)", err, log, source)

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


def _last_source_line(log: str) -> str | None:
    """Source lines appear in the log as ``; <C source> @ file:line``; return the last."""
    for line in reversed(log.splitlines()):
        if line.startswith("; "):
            return line[2:].strip()
    return None
