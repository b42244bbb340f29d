"""``.kconfig`` externs: ``extern int CONFIG_HZ __kconfig;`` filled from the kernel's config.

libbpf lays the externs out in one read-only array map (``<obj>.kconfig``),
sorted by alignment (largest first), then size, then name; the same layout
here keeps translated instructions identical to libbpf's.  Values come from
``/proc/config.gz`` or ``/boot/config-$(uname -r)``; ``LINUX_KERNEL_VERSION``
and friends are computed.
"""

from __future__ import annotations

import gzip
import platform
import re
import struct
from dataclasses import dataclass

from purebpf.btf.kinds import Kind
from purebpf.btf.spec import BTF
from purebpf.errors import InvalidInputError, NotFoundError

CONFIG_PATHS = ("/proc/config.gz", "/boot/config-{release}")
# libbpf's enum libbpf_tristate
TRI_NO, TRI_YES, TRI_MODULE = 0, 1, 2


@dataclass
class KconfigExtern:
    name: str
    type_id: int
    size: int
    align: int
    weak: bool
    offset: int = 0


def kernel_version(release: str | None = None) -> int:
    """KERNEL_VERSION(major, minor, patch) of ``uname -r``, patch capped at 255 as the kernel does."""
    release = release or platform.release()
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not m:
        raise InvalidInputError(f"cannot parse kernel release {release!r}")
    major, minor, patch = int(m[1]), int(m[2]), int(m[3] or 0)
    return (major << 16) | (minor << 8) | min(patch, 255)


def read_kernel_config(path: str | None = None) -> dict[str, str]:
    """``{CONFIG_X: raw value}`` of the running kernel; ``=n`` options and comments are left out."""
    candidates = [path] if path else [p.format(release=platform.release()) for p in CONFIG_PATHS]
    for cand in candidates:
        try:
            if cand.endswith(".gz"):
                with gzip.open(cand, "rt", errors="replace") as f:
                    text = f.read()
            else:
                with open(cand, errors="replace") as f:
                    text = f.read()
        except OSError:
            continue
        out = {}
        for line in text.splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                key, _, value = line.partition("=")
                out[key.strip()] = value.strip()
        return out
    raise NotFoundError(f"cannot read the kernel config (tried {', '.join(candidates)}); "
                        "load the configs module (`modprobe configs`) or install /boot/config-*")


def collect(btf: BTF, weak: set[str]) -> list[KconfigExtern]:
    """The .kconfig externs of an object, laid out as libbpf does."""
    ids = btf.find_ids(".kconfig", Kind.DATASEC)
    if not ids:
        return []
    out = []
    for vsi in btf.type_by_id(ids[0]).vars:
        var = btf.type_by_id(vsi.type)
        out.append(KconfigExtern(var.name, var.type, btf.sizeof(var.type), btf.alignof(var.type),
                                 var.name in weak))
    out.sort(key=lambda e: (-e.align, e.size, e.name))
    off = 0
    for ext in out:
        off = (off + ext.align - 1) // ext.align * ext.align
        ext.offset = off
        off += ext.size
    return out


def build_data(btf: BTF, externs: list[KconfigExtern], config: dict[str, str] | None = None) -> bytes:
    """The bytes of the .kconfig map: each extern's value at its offset."""
    if not externs:
        return b""
    size = externs[-1].offset + externs[-1].size
    data = bytearray(size)
    need_config = any(e.name.startswith("CONFIG_") for e in externs)
    if need_config and config is None:
        try:
            config = read_kernel_config()
        except NotFoundError:
            if not all(e.weak for e in externs if e.name.startswith("CONFIG_")):
                raise
            config = {}
    for ext in externs:
        value = _value(btf, ext, config or {})
        data[ext.offset:ext.offset + ext.size] = value
    return bytes(data)


def _value(btf: BTF, ext: KconfigExtern, config: dict[str, str]) -> bytes:
    t = btf.resolve(ext.type_id)
    if ext.name == "LINUX_KERNEL_VERSION":
        return _int(t, ext, kernel_version())
    if ext.name in ("LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER"):
        return _int(t, ext, 1)
    if not ext.name.startswith("CONFIG_"):
        raise InvalidInputError(f"unknown .kconfig extern '{ext.name}': only CONFIG_* and LINUX_* are known")
    raw = config.get(ext.name)
    if raw is None or raw == "n":  # an option the config leaves out is off, as in the kernel
        return bytes(ext.size)
    if t.kind == Kind.ENUM:          # enum libbpf_tristate
        return _int(t, ext, {"y": TRI_YES, "m": TRI_MODULE}.get(raw, TRI_NO))
    if t.kind == Kind.INT and t.is_bool:
        return _int(t, ext, 1 if raw in ("y", "m") else 0)
    if t.kind == Kind.INT and t.is_char and ext.size == 1:
        return raw[:1].encode() if raw in ("y", "m", "n") else bytes(1)
    if t.kind == Kind.ARRAY:
        if not (raw.startswith('"') and raw.endswith('"')):
            raise InvalidInputError(f".kconfig extern '{ext.name}' is a char array but {ext.name}={raw} "
                                    "is not a string")
        text = raw[1:-1].encode()[:ext.size - 1]
        return text.ljust(ext.size, b"\0")
    if t.kind == Kind.INT:
        try:
            number = int(raw, 0)
        except ValueError:
            if raw in ("y", "m"):
                number = 1
            else:
                raise InvalidInputError(f".kconfig extern '{ext.name}' is an integer but the kernel "
                                        f"config says {raw}") from None
        return _int(t, ext, number)
    raise InvalidInputError(f".kconfig extern '{ext.name}' has an unsupported type ({t.kind.name})")


def _int(t, ext: KconfigExtern, value: int) -> bytes:
    if ext.size not in (1, 2, 4, 8):
        raise InvalidInputError(f".kconfig extern '{ext.name}' is {ext.size} bytes; expected an integer")
    signed = getattr(t, "signed", False)
    fmt = {1: "b", 2: "h", 4: "i", 8: "q"}[ext.size]
    return struct.pack("<" + (fmt if signed else fmt.upper()), value & ((1 << (8 * ext.size)) - 1)
                       if not signed else value)

