"""The running kernel's BTF: vmlinux (read once per process) and modules' split BTF."""

from __future__ import annotations

import os

from purebpf.btf.spec import BTF
from purebpf.errors import NotFoundError, NotSupportedError

SYSFS_BTF = "/sys/kernel/btf"
_kernel: BTF | None = None


def load_kernel() -> BTF:
    """``/sys/kernel/btf/vmlinux``, parsed lazily; the same object on every call."""
    global _kernel
    if _kernel is None:
        path = os.path.join(SYSFS_BTF, "vmlinux")
        if not os.path.exists(path):
            raise NotSupportedError(f"{path} is missing: this kernel was built without CONFIG_DEBUG_INFO_BTF "
                                    "(needs Linux 5.4+ with BTF enabled)")
        _kernel = BTF.from_file(path)
    return _kernel


def load_module_btf(name: str) -> BTF:
    """The split BTF of kernel module ``name``: its ids and strings continue after vmlinux's."""
    if not name or "/" in name or name.startswith("."):
        raise NotFoundError(f"bad kernel module name {name!r}")
    path = os.path.join(SYSFS_BTF, name)
    if name == "vmlinux":
        return load_kernel()
    if not os.path.exists(path):
        raise NotFoundError(f"no BTF for kernel module {name!r} in {SYSFS_BTF} (module not loaded, "
                            "or built without CONFIG_DEBUG_INFO_BTF_MODULES)")
    return BTF.from_file(path, base=load_kernel())


def module_names() -> list[str]:
    """Modules that have BTF loaded now."""
    try:
        return sorted(n for n in os.listdir(SYSFS_BTF) if n != "vmlinux")
    except OSError:
        return []
