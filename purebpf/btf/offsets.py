"""Member offsets in the running kernel's structs, remembered between runs.

A tool that reads ``task->real_parent`` by hand needs that member's offset in
this kernel: without a cache, importing the type model, reading 6 MB of
vmlinux BTF and decoding ``task_struct`` cost ~30 ms of every start.  The
kernel's BTF cannot change until the next boot, so offsets found once are kept
on disk under the boot id (and the BTF's size) beside the BTF index cache
(:mod:`purebpf.btf.cache`), and later starts read a few lines instead.

    kernel_member_offset("task_struct", "real_parent")   # e.g. 2456

A member that does not exist raises ``NotFoundError`` and is not cached.
"""

from __future__ import annotations

import os

from purebpf.btf import cache

KIND = "offsets1"  # bump when the file format changes
VMLINUX = "/sys/kernel/btf/vmlinux"
BOOT_ID = "/proc/sys/kernel/random/boot_id"

_table: dict[str, int] | None = None


def kernel_member_offset(struct: str, member: str) -> int:
    """Byte offset of ``struct.member`` (a dotted path is fine) in the running kernel."""
    table = _load()
    name = f"{struct}.{member}"
    offset = table.get(name)
    if offset is None:
        from purebpf.btf.kernel import load_kernel

        offset = load_kernel().member_offset(struct, member)
        table[name] = offset
        _store(table)
    return offset


def kernel_key() -> str | None:
    """A key that changes whenever the kernel's BTF may have: boot id and BTF size (None if unreadable)."""
    try:
        with open(BOOT_ID) as f:
            boot = f.read().strip()
        return f"{boot}-{os.stat(VMLINUX).st_size:x}"
    except OSError:
        return None


def _load() -> dict[str, int]:
    global _table
    if _table is None:
        _table = {}
        key = kernel_key()
        data = cache.read(KIND, key) if key else None
        for line in (data or b"").decode(errors="replace").splitlines():
            name, _, value = line.partition(" ")
            if value.isdigit():
                _table[name] = int(value)
    return _table


def _store(table: dict[str, int]) -> None:
    key = kernel_key()
    if key is None:
        return
    if cache.read(KIND, key) is None:
        _forget_other_boots()
    cache.write(KIND, key, "".join(f"{name} {value}\n" for name, value in table.items()).encode())


def _forget_other_boots() -> None:
    """Offsets of earlier boots are never read again: remove them."""
    base = cache.cache_dir()
    try:
        stale = [n for n in os.listdir(base) if n.startswith(KIND + "-")] if base else []
    except OSError:
        return
    for name in stale:
        try:
            os.unlink(os.path.join(base, name))
        except OSError:
            pass
