"""Attach points: split ``provider:target:func`` into parts, resolve
aliases (``t:``, ``k:``), check the shape and expand wildcards.

Probe expansion is the first pass: later passes see one ``ProbeTarget`` per
concrete attach point (``tracepoint:syscalls:sys_enter_open*`` becomes one
per matching tracepoint).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from purebpf.trace.location import Diagnostics, Location

PROVIDERS = {
    "BEGIN": "BEGIN", "begin": "BEGIN", "END": "END", "end": "END",
    "tracepoint": "tracepoint", "t": "tracepoint",
    "rawtracepoint": "rawtracepoint", "rt": "rawtracepoint",
    "kprobe": "kprobe", "k": "kprobe", "kretprobe": "kretprobe", "kr": "kretprobe",
    "uprobe": "uprobe", "u": "uprobe", "uretprobe": "uretprobe", "ur": "uretprobe", "usdt": "usdt", "U": "usdt",
    "profile": "profile", "p": "profile", "interval": "interval", "i": "interval",
    "software": "software", "s": "software", "hardware": "hardware", "h": "hardware",
    "kfunc": "fentry", "f": "fentry", "fentry": "fentry",
    "kretfunc": "fexit", "fr": "fexit", "fexit": "fexit",
    "bench": "bench", "self": "self", "iter": "iter", "it": "iter",
    "watchpoint": "watchpoint", "w": "watchpoint", "asyncwatchpoint": "asyncwatchpoint", "aw": "asyncwatchpoint",
}
# probes run from user space (BPF_PROG_TEST_RUN) rather than attached
USER_RUN = ("BEGIN", "END", "bench", "self")
# self:signal:NAME probes: signals the tracer itself can be sent to run a probe
SELF_SIGNALS = ("SIGUSR1", "SIGUSR2")
TIME_UNITS_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
SOFTWARE_EVENTS = {
    "cpu-clock": 0, "cpu": 0, "task-clock": 1, "page-faults": 2, "faults": 2, "context-switches": 3,
    "cs": 3, "cpu-migrations": 4, "minor-faults": 5, "major-faults": 6, "alignment-faults": 7,
    "emulation-faults": 8, "dummy": 9, "bpf-output": 10,
}
HARDWARE_EVENTS = {
    "cpu-cycles": 0, "cycles": 0, "instructions": 1, "cache-references": 2, "cache-misses": 3,
    "branch-instructions": 4, "branches": 4, "branch-misses": 5, "bus-cycles": 6,
    "frontend-stalls": 7, "backend-stalls": 8, "ref-cycles": 9,
}


@dataclass(frozen=True)
class ProbeTarget:
    """One concrete attach point."""
    provider: str          # canonical provider name
    target: str = ""       # tracepoint category, binary path, time unit, event name
    func: str = ""         # tracepoint/function name
    offset: int = 0        # uprobe/kprobe +offset
    period: int = 0        # interval period (ns) or profile/software/hardware count/frequency
    freq: bool = False     # profile:hz:N

    @property
    def name(self) -> str:
        """The full name bpftrace shows for ``probe``."""
        if self.provider in ("BEGIN", "END"):  # current bpftrace's names, whichever spelling was written
            return self.provider.lower()
        text = ":".join([self.provider] + [p for p in (self.target, self.func) if p])
        return text + (f"+{self.offset}" if self.offset else "")


class ProbeError(Exception):
    pass


def function_name(probe_name: str, index: int) -> str:
    """The name bpftrace gives a probe's program in its BTF, which ``fentry:bpf:NAME`` finds it by: the
    probe's name with every character outside [A-Za-z0-9_] made '_', then ``_INDEX``; one too long for
    a kernel symbol (127 characters) keeps its start and a hash of the whole."""
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in probe_name)
    if len(name) > 100:
        import hashlib
        name = name[:83] + "_" + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()
    return f"{name}_{index}"


def split_attach_point(raw: str) -> list[str]:
    """Split on ':' except inside a uprobe path's ``C++::scopes`` (not supported: kept simple)."""
    return raw.split(":")


def parse_attach_point(raw: str) -> ProbeTarget:
    """Parse one attach point (wildcards left in place); raises ProbeError."""
    parts = split_attach_point(raw)
    provider = PROVIDERS.get(parts[0])
    if provider is None:
        raise ProbeError(f"Invalid probe type: {parts[0]}")
    args = parts[1:]
    if provider in ("BEGIN", "END"):
        if args:
            raise ProbeError(f"{provider} probes do not take arguments")
        return ProbeTarget(provider)
    if provider == "self":  # self:signal:SIGUSR1, run from user space when the tracer gets the signal
        if len(args) != 2 or args[0] != "signal" or args[1] not in SELF_SIGNALS:
            raise ProbeError(f"self probes are self:signal:NAME with NAME one of {', '.join(SELF_SIGNALS)}")
        return ProbeTarget(provider, args[0], args[1])
    if provider == "bench":  # bench:NAME, run from user space and timed (--mode bench)
        if len(args) != 1 or not args[0]:
            raise ProbeError("bench probe type requires 1 argument")
        return ProbeTarget(provider, args[0])
    if provider == "iter":  # iter:task: the program runs once per task when the tracer reads the iterator
        if len(args) == 2:  # its output is binary event records for the tracer, not text for `cat PIN`
            raise ProbeError("pinned iterators (iter:TARGET:PIN) are not supported by purebpf trace")
        if len(args) != 1 or not args[0]:
            raise ProbeError("iter probe type requires 1 argument")
        return ProbeTarget(provider, args[0])
    if provider in ("tracepoint", "rawtracepoint"):
        if provider == "rawtracepoint" and len(args) == 1:
            return ProbeTarget(provider, "", args[0])
        if len(args) != 2 or not all(args):
            raise ProbeError(f"{provider} probe type requires 2 arguments, found {len(args)}")
        return ProbeTarget(provider, args[0], args[1])
    if provider in ("fentry", "fexit"):  # fentry:[MODULE:]FUNC, fentry:bpf:[ID:]NAME (a BPF program's function)
        if args[:1] == ["bpf"]:
            if len(args) not in (2, 3) or not all(args):
                raise ProbeError("the 'bpf' variant of this probe requires a bpf program name and optional bpf "
                                 "program id")
            if len(args) == 3 and not args[1].isdigit() and args[1] != "*":
                raise ProbeError("bpf program id must be a number or '*'")
            return ProbeTarget(provider, ":".join(args[:-1]), args[-1])
        if len(args) not in (1, 2) or not all(args):
            raise ProbeError(f"{provider} probe type requires 1 or 2 arguments")
        module = args[0] if len(args) == 2 and args[0] != "vmlinux" else ""
        return ProbeTarget(provider, module, args[-1])
    if provider in ("kprobe", "kretprobe", "fentry", "fexit"):
        module = ""
        if len(args) == 2:  # module:function (kprobes keep the module: purebpf.trace.kprobes checks it)
            module = args[0] if provider in ("kprobe", "kretprobe") else ""
            args = [args[1]]
        if len(args) != 1 or not args[0]:
            raise ProbeError(f"{provider} probe type requires 1 argument")
        func, offset = _split_offset(args[0])
        return ProbeTarget(provider, module, func, offset)
    if provider in ("uprobe", "uretprobe"):
        if len(args) < 2 or not args[0] or not args[1]:
            raise ProbeError(f"{provider} probe type requires 2 arguments")
        func, offset = _split_offset(":".join(args[1:]))
        return ProbeTarget(provider, args[0], func, offset)
    if provider == "usdt":  # usdt:PATH:[PROVIDER:]NAME, expanded against the file's notes later
        from purebpf.trace.usdt import split
        path, prov, name = split(args)
        return ProbeTarget(provider, path, f"{prov}:{name}")
    if provider in ("interval", "profile"):
        if len(args) == 1:  # interval:1s / profile:99 (hz)
            args = _split_unit(args[0], provider)
            if args[0] in TIME_UNITS_NS:  # a duration: bpftrace names it in microseconds (interval:us:100000)
                ns = _int(args[1], provider) * TIME_UNITS_NS[args[0]]
                if ns < 1000:
                    raise ProbeError(f"Invalid rate of {provider} probe. Minimum is 1000 or 1us. Found: {ns} "
                                     "nanoseconds")
                return ProbeTarget(provider, "us", str(ns // 1000), period=ns)
        if len(args) != 2:
            raise ProbeError(f"{provider} probe type requires 2 arguments")
        unit, count = args
        value = _int(count, provider)
        if unit == "hz":
            return ProbeTarget(provider, "hz", str(value), period=value, freq=True)
        if unit not in TIME_UNITS_NS:
            raise ProbeError(f"{provider} unit '{unit}' is not one of: s, ms, us, hz")
        return ProbeTarget(provider, unit, str(value), period=value * TIME_UNITS_NS[unit])
    if provider in ("watchpoint", "asyncwatchpoint"):
        return _watchpoint(provider, args)
    if provider in ("software", "hardware"):
        table = SOFTWARE_EVENTS if provider == "software" else HARDWARE_EVENTS
        if not args or args[0] not in table:
            raise ProbeError(f"{provider}: unknown event '{args[0] if args else ''}' "
                             f"(one of {', '.join(sorted(table))})")
        count = _int(args[1], provider) if len(args) > 1 and args[1] else 0
        return ProbeTarget(provider, args[0], str(count) if count else "", period=count)
    raise ProbeError(f"Invalid probe type: {parts[0]}")


def _watchpoint(provider: str, args: list[str]) -> ProbeTarget:
    """``watchpoint:ADDRESS:LENGTH:MODE``: the target keeps the address, func ``LENGTH:MODE``."""
    if len(args) != 3 or not all(args):
        raise ProbeError(f"{provider} probe type requires 3 arguments (address, length, mode)")
    try:
        address = int(args[0], 0)
    except ValueError:
        raise ProbeError(f"{provider}: invalid address '{args[0]}' (an absolute address such as 0x1000)") from None
    length = _int(args[1], provider)
    if length not in (1, 2, 4, 8):
        raise ProbeError(f"{provider} length must be one of (1,2,4,8)")
    mode = args[2]
    if not mode or any(c not in "rwx" for c in mode) or len(set(mode)) != len(mode):
        raise ProbeError(f"{provider} mode must be a combination of (r,w,x)")
    if "x" in mode and mode != "x":
        raise ProbeError(f"{provider} mode x (execute) cannot be combined with r or w")
    return ProbeTarget(provider, f"{address:#x}", f"{length}:{mode}")


def _int(text: str, provider: str) -> int:
    try:
        value = _count(text)
    except ValueError:
        raise ProbeError(f"{provider}: invalid count '{text}'") from None
    if value <= 0:
        raise ProbeError(f"{provider}: the count must be positive, not {value}")
    return value


def _split_unit(text: str, provider: str) -> list[str]:
    for unit in ("hz", "ms", "us", "ns", "s"):
        if text.endswith(unit):
            return [unit, text[: -len(unit)]]
    return ["hz" if provider == "profile" else "s", text]


def _split_offset(func: str) -> tuple[str, int]:
    if "+" in func:
        name, off = func.rsplit("+", 1)
        try:
            return name, int(off, 0)
        except ValueError:
            raise ProbeError(f"invalid offset '+{off}'") from None
    return func, 0


def _count(text: str) -> int:
    """A count as bpftrace writes it: C integers, ``1_000``, or ``1e6``."""
    text = text.replace("_", "")
    if "e" in text and text.split("e")[0].isdigit() and text.split("e")[1].isdigit():
        base, exp = text.split("e")
        return int(base) * 10 ** int(exp)
    return int(text, 0)


def has_wildcard(text: str) -> bool:
    return any(c in text for c in "*?[")


def expand(targets: list[tuple[ProbeTarget, Location]], diags: Diagnostics, *,
           tracepoints: list[tuple[str, str]] | None = None) -> list[tuple[ProbeTarget, Location]]:
    """Replace wildcard targets by every concrete one they match.

    ``tracepoints`` is the list of (category, name) of this kernel; given by
    the caller so the pass stays testable without tracefs.
    """
    out: list[tuple[ProbeTarget, Location]] = []
    for target, loc in targets:
        if target.provider == "tracepoint" and (has_wildcard(target.target) or has_wildcard(target.func)):
            matches = [(c, n) for c, n in (tracepoints or [])
                       if fnmatch.fnmatchcase(c, target.target) and fnmatch.fnmatchcase(n, target.func)]
            if not matches:
                diags.error(f"No probes matched: tracepoint:{target.target}:{target.func}", loc)
            out.extend((ProbeTarget("tracepoint", c, n), loc) for c, n in sorted(matches))
        else:
            out.append((target, loc))
    return out
