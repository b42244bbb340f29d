"""Decoding what the BPF side wrote (map keys and values, event records)
into Python values the renderers print.

Integers that print specially (booleans, symbols, enum values, stacks) are
``int`` subclasses whose ``str()`` is bpftrace's text: ``printf("%d")``
still sees the number and ``printf("%s")``/``print()`` the text.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from purebpf.trace.render import Avg, Hist, LHist, Stats
from purebpf.trace.semantic import MapInfo
from purebpf.trace.semantic.scope import DEFAULT_MAX_STRLEN
from purebpf.trace.types import TType


class TBool(int):
    def __str__(self) -> str:
        return "true" if self else "false"

    __repr__ = __str__


class Pointer(int):
    def __str__(self) -> str:
        return f"0x{int(self) & 0xFFFFFFFFFFFFFFFF:x}"

    __repr__ = __str__


class EnumValue(int):
    names: dict[int, str] = {}

    def __new__(cls, value: int, names: dict[int, str]) -> EnumValue:
        obj = super().__new__(cls, value)
        obj.names = names
        return obj

    def __str__(self) -> str:
        return self.names.get(int(self), str(int(self)))

    __repr__ = __str__


class KSym(int):
    def __str__(self) -> str:
        from purebpf.symbols import kernel_symbols

        name = kernel_symbols().lookup(int(self))
        return name if name is not None else f"0x{int(self):x}"

    __repr__ = __str__


class USym(int):
    """A user address with the pid whose mappings name it."""
    pid: int = 0

    def __new__(cls, value: int, pid: int = 0) -> USym:
        obj = super().__new__(cls, value)
        obj.pid = pid
        return obj

    def __str__(self) -> str:
        if self.pid:
            name = user_symbols(self.pid).lookup(int(self))
            if name is not None:
                return name
        return f"0x{int(self):x}"

    __repr__ = __str__


class CgroupPath(int):
    """A cgroup id printed as its path in every mounted cgroup hierarchy: ``unified:/a/b;cpu:/a``."""
    pattern: str = ""

    def __new__(cls, value: int, pattern: str = "") -> CgroupPath:
        obj = super().__new__(cls, value)
        obj.pattern = pattern
        return obj

    def __str__(self) -> str:
        from purebpf.trace.cgroups import cgroup_paths

        return ";".join(f"{name}:{path}" for name, path in cgroup_paths(int(self), self.pattern))

    __repr__ = __str__


class UserName(int):
    """A uid printed as the user's name (``/etc/passwd``), or the number when it has none."""

    def __str__(self) -> str:
        import pwd

        try:
            return pwd.getpwuid(int(self)).pw_name
        except KeyError:
            return str(int(self))

    __repr__ = __str__


class SignalName(int):
    """A signal number printed as its description (``Interrupt``), as strsignal(3) words it."""

    def __str__(self) -> str:
        import signal

        n = int(self)
        if not 0 <= n < signal.NSIG:
            return "N/A"
        if signal.SIGRTMIN <= n <= signal.SIGRTMAX:
            return f"Real-time signal {n - signal.SIGRTMIN}"
        try:
            return signal.strsignal(n) or f"Unknown signal {n}"
        except ValueError:  # 0: no signal
            return f"Unknown signal {n}"

    __repr__ = __str__


_PROCESS_SYMBOLS: dict = {}


def user_symbols(pid: int):
    """The symbols of process ``pid``, kept from the last time it was seen alive: stacks and usym() values
    printed after the process exited (maps at the end of tracing) are still named."""
    from purebpf.symbols import ProcessSymbols

    cached = _PROCESS_SYMBOLS.get(pid)
    if cached is None or not cached.maps:
        fresh = ProcessSymbols(pid)
        if cached is None or fresh.maps:
            _PROCESS_SYMBOLS[pid] = cached = fresh
    return cached


class StrError(int):
    def __str__(self) -> str:
        return os.strerror(int(self))

    __repr__ = __str__


class Timestamp(int):
    """A ``strftime()`` value: nanoseconds since boot (monotonic), printed as wall-clock time."""
    fmt: str = ""

    def __new__(cls, value: int, fmt: str) -> Timestamp:
        obj = super().__new__(cls, value)
        obj.fmt = fmt
        return obj

    def __str__(self) -> str:
        return format_time(self.fmt, int(self))

    __repr__ = __str__


class Stack(int):
    """A stack id from the stack trace map; its frames are filled in by the runtime."""
    frames: list[str] = []
    indent = "        "

    def __str__(self) -> str:
        return "\n" + "".join(f"{self.indent}{f}\n" for f in self.frames)

    __repr__ = __str__


class Buffer(bytes):
    def __str__(self) -> str:
        return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in self)

    __repr__ = __str__


class Inet(str):
    pass


class MacAddr(str):
    """``macaddr()``: six bytes printed as upper-case hex pairs joined by colons."""


class Array(list):
    def __str__(self) -> str:
        return "[" + ",".join(str(v) for v in self) + "]"

    __repr__ = __str__


_MONO_TO_REAL = time.time_ns() - time.monotonic_ns()


def format_time(fmt: str, mono_ns: int) -> str:
    """bpftrace's strftime: ``nsecs`` (monotonic) to local wall-clock time; ``%f`` is microseconds."""
    wall = mono_ns + _MONO_TO_REAL
    secs, ns = divmod(wall, 1_000_000_000)
    import datetime  # imported on first use: not on the start-up path

    moment = datetime.datetime.fromtimestamp(secs)
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            spec = fmt[i:i + 2]
            if spec == "%f":
                out.append(f"{ns // 1000:06d}")
            elif spec == "%s":
                out.append(str(secs))
            else:
                out.append(moment.strftime(spec))
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _int(t: TType, data: bytes) -> int:
    size = t.size if t.size in (1, 2, 4, 8) else 8
    return int.from_bytes(data[:size], "little", signed=t.signed)


def _member(t: TType, data: bytes, bit_offset: int, width: int, enums) -> object:
    """A struct member, packed as C lays it out (tuples are laid out the same way)."""
    start = bit_offset // 8
    if width:
        raw = int.from_bytes(data[start:start + 8].ljust(8, b"\0"), "little") >> (bit_offset % 8)
        return raw & ((1 << width) - 1)  # zero-extended whatever its type, as the program reads it
    if t.kind == "int":
        return _int(t, data[start:start + t.size])
    return decode(t, data[start:start + t.size].ljust(t.padded, b"\0"), enums)


@dataclass
class StringTruncation:
    """How a string str() cut at max_strlen shows: its type has room for max_strlen characters and the NUL
    (``size``); one that fills them gets the trailer (config ``str_trunc_trailer``), as bpftrace prints it."""
    size: int = DEFAULT_MAX_STRLEN + 1
    trailer: str = ".."


TRUNCATION = StringTruncation()


def set_string_truncation(max_strlen: int, trailer: str) -> None:
    """Set by the runtime from the program's configuration before any value is printed."""
    TRUNCATION.size, TRUNCATION.trailer = max_strlen + 1, trailer


def _string(t: TType, data: bytes) -> str:
    raw = data[: t.size]
    text = raw.partition(b"\0")[0]
    value = text.decode(errors="replace")
    if t.size == TRUNCATION.size and len(text) >= t.size - 1:
        value += TRUNCATION.trailer
    return value


def decode(t: TType, data: bytes, enums: dict[str, dict[int, str]] | None = None) -> object:
    kind = t.kind
    if kind == "none":  # a float struct member: bpftrace reads no value (JSON null)
        return None
    if kind == "int":
        value = int.from_bytes(data[:8], "little", signed=t.signed)
        if t.extra and enums is not None and t.extra in enums:
            return EnumValue(value, enums[t.extra])
        return value
    if kind == "bool":
        return TBool(data[0] != 0)
    if kind == "pointer":
        return Pointer(int.from_bytes(data[:8], "little"))
    if kind == "string":
        return _string(t, data)
    if kind == "tuple":
        values = [decode(e, data[off: off + e.field_size], enums)
                  for e, off in zip(t.elems, t.offsets(), strict=True)]
        if t.names:
            return Record(zip(t.names, values, strict=True))
        return tuple(values)
    if kind == "struct":
        return Record((name, _member(e, data, off, width, enums))
                      for name, e, off, width in zip(t.names, t.elems, t.offs, t.widths, strict=True))
    if kind == "array":
        elem = t.elems[0]
        size = max(elem.size, 1)
        return Array(decode(elem, data[i * size:(i + 1) * size].ljust(8, b"\0"), enums) for i in range(t.count))
    if kind == "buffer":
        length = int.from_bytes(data[:8], "little")
        return Buffer(data[8:8 + min(length, t.size - 8)])
    if kind == "macaddr":
        return MacAddr(":".join(f"{b:02X}" for b in data[:6]))
    if kind == "inet":
        family = int.from_bytes(data[:8], "little")
        raw = data[8:8 + (16 if family == 10 else 4)]
        try:
            import ipaddress  # imported on first use: ~1 ms, not on the start-up path

            return Inet(str(ipaddress.ip_address(raw)))
        except ValueError:
            return Inet("")
    if kind == "ksym":
        return KSym(int.from_bytes(data[:8], "little"))
    if kind == "usym":
        return USym(int.from_bytes(data[:8], "little"), int.from_bytes(data[8:16], "little"))
    if kind == "cgroup_path":
        return CgroupPath(int.from_bytes(data[:8], "little"), t.extra)
    if kind == "username":
        return UserName(int.from_bytes(data[:8], "little"))
    if kind == "signal_name":
        return SignalName(int.from_bytes(data[:8], "little", signed=True))
    if kind == "strerror":
        return StrError(int.from_bytes(data[:8], "little", signed=True))
    if kind == "timestamp":
        return Timestamp(int.from_bytes(data[:8], "little"), t.extra)
    if kind in ("kstack", "ustack"):
        return Stack(int.from_bytes(data[:8], "little"))
    return data


class Record(dict):
    """A record value ``(a=1, b=2)``: printed ``{ .a = 1, .b = 2 }``."""

    def __str__(self) -> str:
        from purebpf.trace.render import value_text

        return "{ " + ", ".join(f".{k} = {value_text(v)}" for k, v in self.items()) + " }"

    __repr__ = __str__


def decode_key(info: MapInfo, data: bytes, enums: dict[str, dict[int, str]] | None = None) -> tuple:
    """The user-visible key as a tuple (empty for scalar maps)."""
    if info.key is None:
        return ()
    value = decode(info.key, data[: info.key.padded], enums)
    return value if info.key.kind == "tuple" and not info.key.names else (value,)


def _slots(info: MapInfo, raw: bytes) -> list[bytes]:
    size = (info.value_size + 7) & ~7
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def _i64(data: bytes, off: int = 0) -> int:
    return int.from_bytes(data[off:off + 8], "little", signed=True)


def combine(info: MapInfo, raw: bytes, enums: dict[str, dict[int, str]] | None = None) -> object:
    """One entry's value; per-CPU aggregations are combined across CPUs."""
    kind = info.kind
    if not info.per_cpu:
        return decode(info.value, raw, enums)
    slots = _slots(info, raw)
    if kind in ("count", "hist", "lhist"):
        return sum(int.from_bytes(s[:8], "little") for s in slots)
    if kind == "sum":
        return sum(_i64(s) for s in slots)
    if kind in ("min", "max"):
        values = [_i64(s) for s in slots if _i64(s, 8)]
        return (min(values) if kind == "min" else max(values)) if values else 0
    count = sum(_i64(s) for s in slots)
    total = sum(_i64(s, 8) for s in slots)
    return Avg(count, total) if kind == "avg" else Stats(count, total)


def map_entries(info: MapInfo, items: list[tuple[bytes, bytes]],
                enums: dict[str, dict[int, str]] | None = None) -> list[tuple[tuple, object]]:
    """All entries of a map from its raw (key, value) pairs; histogram buckets
    (the last 8 bytes of the key) are gathered under their user key."""
    if info.kind == "tseries":
        from purebpf.trace.tseries import collect

        return [(decode_key(info, k, enums), ts)
                for k, ts in collect(items, info.key_size, info.tseries, info.value.signed)]
    if info.kind not in ("hist", "lhist"):
        return [(decode_key(info, k, enums), combine(info, v, enums)) for k, v in items]
    groups: dict[tuple, list[int]] = {}
    order: list[tuple] = []
    for k, v in items:
        user = decode_key(info, k, enums)
        bucket = int.from_bytes(k[-8:], "little")
        if user not in groups:
            groups[user] = []
            order.append(user)
        counts = groups[user]
        if bucket >= len(counts):
            counts.extend([0] * (bucket + 1 - len(counts)))
        counts[bucket] += int(combine(info, v))
    out: list[tuple[tuple, object]] = []
    for user in order:
        counts = groups[user]
        if info.kind == "lhist":
            counts = counts + [0] * (info.lhist_buckets - len(counts))
            lo, hi, step = info.lhist
            out.append((user, LHist(counts, lo, hi, step)))
        else:
            out.append((user, Hist(counts, info.hist_bits)))
    return out
