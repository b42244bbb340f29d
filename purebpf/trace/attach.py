"""Loading one compiled probe into the kernel and attaching it to its event.

Each kind of attach point needs a different program type, and some (fentry,
fexit, tp_btf, iter) a BTF target named at load time; the tracer itself only
walks its probes and calls :func:`load_probe` and :func:`attach_probe`.
"""

from __future__ import annotations

import struct

from purebpf.errors import InvalidInputError, NotFoundError, NotSupportedError, VerifierError
from purebpf.links import Link, PerfEvent, RawTracepoint, Tracepoint
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import AttachType, ProgType
from purebpf.sys.perf import HardwareEvent, PerfType, SoftwareEvent
from purebpf.trace.compiler import CompiledProbe
from purebpf.trace.probes import HARDWARE_EVENTS, SOFTWARE_EVENTS, function_name

PROG_TYPES = {
    "BEGIN": ProgType.RAW_TRACEPOINT, "END": ProgType.RAW_TRACEPOINT, "bench": ProgType.RAW_TRACEPOINT,
    "self": ProgType.RAW_TRACEPOINT,
    "tracepoint": ProgType.TRACEPOINT,
    "rawtracepoint": ProgType.RAW_TRACEPOINT, "interval": ProgType.PERF_EVENT, "profile": ProgType.PERF_EVENT,
    "software": ProgType.PERF_EVENT, "hardware": ProgType.PERF_EVENT, "uprobe": ProgType.KPROBE,
    "uretprobe": ProgType.KPROBE, "usdt": ProgType.KPROBE, "kprobe": ProgType.KPROBE, "kretprobe": ProgType.KPROBE,
    "fentry": ProgType.TRACING, "fexit": ProgType.TRACING, "iter": ProgType.TRACING,
    "watchpoint": ProgType.PERF_EVENT, "asyncwatchpoint": ProgType.PERF_EVENT,
}


def load_probe(probe: CompiledProbe, insns: list, log_level: int = 0, log_size: int = 0) -> Program:
    """Load ``insns`` (maps already resolved) as the program of ``probe``; ``log_size`` fixes the verifier
    log's buffer (0: as large as the log needs)."""
    btf_fd, extra = _func_info(probe)  # every program names its functions in BTF, as bpftrace's do
    try:
        if probe.target.provider == "rawtracepoint" and probe.btf_typed:
            return _load_tp_btf(probe, insns, extra, log_level, log_size)
        if probe.target.provider in ("fentry", "fexit") and probe.target.target.startswith("bpf:"):
            return _load_bpf_program_fentry(probe, insns, extra, log_level, log_size)
        if probe.target.provider in ("fentry", "fexit") and probe.target.target:  # a module's function
            return _load_module_fentry(probe, insns, extra, log_level, log_size)
        if probe.target.provider in ("fentry", "fexit", "iter"):  # the target is checked at load time
            spec = _btf_spec(probe.target.provider, probe, insns, extra)
            return Program(spec, log_level=log_level, log_size=log_size)
        if probe.multi:  # one program for many functions: it must say so when loaded
            extra["expected_attach_type"] = AttachType.TRACE_UPROBE_MULTI
        spec = ProgramSpec(PROG_TYPES[probe.target.provider], insns, name=_prog_name(probe), **extra)
        return Program(spec, log_level=log_level, log_size=log_size)
    finally:
        btf_fd.close()


def _load_tp_btf(probe: CompiledProbe, insns: list, extra: dict, log_level: int, log_size: int = 0) -> Program:
    """A raw tracepoint described by BTF loads as tp_btf (a TRACING program), as current bpftrace does:
    its pointer arguments are then typed for the verifier, so helpers that take kernel objects
    (skb_output, get_socket_cookie) accept them.  Bit operations on those typed pointers are refused
    by the verifier, so a program that needs no such helper falls back to a plain raw_tp on failure."""
    try:
        return Program(_btf_spec("tp_btf", probe, insns, extra), log_level=log_level, log_size=log_size)
    except (VerifierError, NotFoundError):
        if probe.needs_btf:
            raise
    return Program(ProgramSpec(ProgType.RAW_TRACEPOINT, insns, name=_prog_name(probe), **extra),
                   log_level=log_level, log_size=log_size)


def _load_module_fentry(probe: CompiledProbe, insns: list, extra: dict, log_level: int, log_size: int) -> Program:
    """fentry/fexit on a kernel module's function: its BTF id is in the module's BTF object, whose fd
    the kernel takes with it."""
    from purebpf.links.tracing_spec import TARGETS
    from purebpf.sys import FD
    from purebpf.sys.objects import fd_by_id
    from purebpf.trace.fentry import attach_ids

    t = probe.target
    btf_id, obj_id = attach_ids(t.target, t.func)
    obj = FD(fd_by_id("btf", obj_id))
    try:
        spec = ProgramSpec(ProgType.TRACING, insns, name=_prog_name(probe),
                           expected_attach_type=TARGETS[t.provider].attach_type, attach_btf_id=btf_id,
                           attach_btf_obj_fd=obj.raw, **extra)
        return Program(spec, log_level=log_level, log_size=log_size)
    finally:
        obj.close()


def _load_bpf_program_fentry(probe: CompiledProbe, insns: list, extra: dict, log_level: int,
                             log_size: int) -> Program:
    """fentry/fexit on a function of a loaded BPF program (``bpf:ID``): the kernel takes that program's fd
    with the function's id in the program's BTF, and keeps its own reference once this one is loaded."""
    from purebpf.links.prog_target import prog_tracing_spec
    from purebpf.sys import FD
    from purebpf.sys.objects import fd_by_id

    t = probe.target
    target = FD(fd_by_id("prog", int(t.target.partition(":")[2])))
    try:
        spec = prog_tracing_spec(insns, t.provider, target.raw, t.func, name=_prog_name(probe))
        return Program(spec.replace(**extra), log_level=log_level, log_size=log_size)
    finally:
        target.close()


def attach_probe(probe: CompiledProbe, prog: Program, pid: int | None = None, cpid: int = 0) -> Link:
    """Attach the loaded program of ``probe``; ``pid`` is ``-p``'s process, ``cpid`` ``-c``'s child."""
    t = probe.target
    if t.provider == "tracepoint":
        return Tracepoint(prog, t.target, t.func)
    if t.provider == "rawtracepoint":
        if prog.type == ProgType.TRACING:
            from purebpf.links.tp_btf import TpBtf
            return TpBtf(prog)
        return RawTracepoint(prog, t.func)
    if t.provider == "interval":
        return PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_period=t.period,
                         cpus=[_first_online_cpu()])
    if t.provider == "profile":
        only = {"pid": pid} if pid else {}  # -p: count the process's own events only, as bpftrace does
        if t.freq:
            return PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_freq=t.period, **only)
        return PerfEvent(prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK, sample_period=t.period, **only)
    if t.provider in ("software", "hardware"):
        table, kind = (SOFTWARE_EVENTS, PerfType.SOFTWARE) if t.provider == "software" else (
            HARDWARE_EVENTS, PerfType.HARDWARE)
        default = 1000 if t.provider == "software" else 1_000_000
        config = table[t.target]
        config = SoftwareEvent(config) if t.provider == "software" else HardwareEvent(config)
        return PerfEvent(prog, kind, config, sample_period=t.period or default, **({"pid": pid} if pid else {}))
    if t.provider in ("uprobe", "uretprobe"):
        return _attach_uprobe(probe, prog, pid)
    if t.provider == "usdt":
        from purebpf.trace.usdt import attach
        return attach(prog, t, pid)
    if t.provider in ("kprobe", "kretprobe"):
        return _attach_kprobe(probe, prog)
    if t.provider in ("fentry", "fexit"):
        from purebpf.links.tracing import Tracing
        return Tracing(prog)
    if t.provider == "iter":
        from purebpf.links.iterator import Iter
        return Iter(prog)
    if t.provider in ("watchpoint", "asyncwatchpoint"):
        return _attach_watchpoint(probe, prog, pid or cpid or None)
    raise NotSupportedError(f"{t.provider} probes are not supported by purebpf trace yet")


def _attach_uprobe(probe: CompiledProbe, prog: Program, pid: int | None) -> Link:
    from purebpf.links import Uprobe  # imported here: it reads ELF symbols (pyelftools, ~20 ms to import)

    t = probe.target
    if probe.multi:
        from purebpf.links import UprobeMulti
        return UprobeMulti(prog, t.target, symbols=[m.func for m in probe.multi], cookies=probe.cookies,
                           retprobe=t.provider == "uretprobe", pid=pid)
    address = int(t.func, 0) if t.func[:1].isdigit() else None  # uprobe:/bin/x:0x401000 is an address
    try:
        if address is not None:
            _check_code_address(t.target, address, pid)
        return Uprobe(prog, t.target, t.func if address is None else address, offset=t.offset,
                      retprobe=t.provider == "uretprobe", pid=pid)
    except NotFoundError:
        if address is None:
            raise
        raise NotFoundError(f"Could not resolve address: {t.target}:{address:#x}") from None


def _attach_kprobe(probe: CompiledProbe, prog: Program) -> Link:
    """A kprobe on a function (``kprobe:MODULE:func`` too: names are unique enough for the kernel) or,
    when its name is a number, on that address; a failure names the probe as bpftrace does."""
    from purebpf.errors import BPFError
    from purebpf.links import Kprobe

    t = probe.target
    symbol: str | int = int(t.func) if t.func.isdigit() else t.func
    try:
        return Kprobe(prog, symbol, offset=t.offset, retprobe=t.provider == "kretprobe")
    except BPFError as exc:
        exc.args = (f"Unable to attach probe: {t.name}: {exc}",) + exc.args[1:]
        raise


def _attach_watchpoint(probe: CompiledProbe, prog: Program, pid: int | None) -> Link:
    """A user-space address is watched in the ``-p``/``-c`` process; a kernel one on every CPU.
    Both kinds of watchpoint fire in the accessing thread, so ``asyncwatchpoint`` attaches alike."""
    from purebpf.links.watchpoint import KERNEL_START, Watchpoint

    t = probe.target
    address = int(t.target, 0)
    length, mode = t.func.split(":")
    if pid is None and address < KERNEL_START:
        raise InvalidInputError(f"{t.name}: a user-space address is watched in one process: "
                                "give -p PID or -c CMD")
    return Watchpoint(prog, address, int(length), mode, pid=pid if address < KERNEL_START else None)


def _check_code_address(binary: str, address: int, pid: int | None) -> None:
    """An address probed in a binary must be code: inside an executable segment."""
    from purebpf.links.symbols import is_elf, resolve_binary, symbol_table

    path = resolve_binary(binary, pid)
    if not is_elf(path):
        return  # a flat binary has no segments to check the address against
    table = symbol_table(path)
    if not any(seg.executable and seg.vaddr <= address < seg.vaddr + seg.memsz for seg in table.segments):
        raise NotFoundError(f"address {address:#x} is not code in {binary}")


def _btf_spec(kind: str, probe: CompiledProbe, insns: list, extra: dict) -> ProgramSpec:
    """The spec of a program on a target named in BTF (fentry, fexit, tp_btf, iter)."""
    from purebpf.links.tracing_spec import tracing_spec

    target = probe.target.target if kind == "iter" else probe.target.func
    return tracing_spec(insns, kind, target, name=_prog_name(probe)).replace(**extra)


def _func_info(probe: CompiledProbe):
    """BTF describing the probe's functions: the kernel requires it once a program has callbacks, and it
    names the program's function as bpftrace does (bpftool shows it; ``fentry:bpf:NAME`` finds it)."""
    from purebpf.btf.funcs import functions_btf
    from purebpf.btf.kinds import Linkage
    from purebpf.btf.load import load_btf

    # bpftrace's name for the probe's function (interval:100ms's is interval_us_100000_1)
    funcs = [(function_name(probe.target.name, probe.index + 1), 1, Linkage.GLOBAL)]
    funcs += [(name, nparams, Linkage.STATIC) for _, name, nparams in probe.funcs]
    data, ids = functions_btf(funcs)
    fd = load_btf(data)
    slots = [0] + [slot for slot, _, _ in probe.funcs]
    info = b"".join(struct.pack("<II", slot, type_id) for slot, type_id in zip(slots, ids, strict=True))
    return fd, {"prog_btf_fd": fd.raw, "func_info": info, "func_info_rec_size": 8}


def _prog_name(probe: CompiledProbe) -> str:
    t = probe.target
    if t.provider == "iter":
        return t.target[:15]
    if probe.multi:  # what its functions' names share: uprobeFunction1 and uprobeFunction2 give uprobeFunction
        import os.path
        return (os.path.commonprefix([m.func for m in probe.multi]) or t.provider)[:15]
    return (t.func or t.provider)[:15]


def _first_online_cpu() -> int:
    text = open("/sys/devices/system/cpu/online").read().strip()
    return int(text.split(",")[0].split("-")[0])
