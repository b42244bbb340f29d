"""Why a probe said no: an errno name plus what it means for that kind of probe.

The same errno means different things depending on what was tried (EINVAL on
PROG_LOAD is usually "unknown program type", on LINK_CREATE "unknown attach
type"), so each probe kind has its own table; :func:`explain` falls back to
the generic hint from :mod:`purebpf.errors`.
"""

from __future__ import annotations

import errno as _errno

from purebpf.errors import errno_hint, errno_name

ENOTSUPP = 524

_PROG = {
    _errno.EINVAL: "this kernel does not know the program type (too old, or built without its CONFIG option)",
    _errno.EPERM: "the kernel refuses to load this program type (lockdown, missing capability, "
                  "or kernel.unprivileged_bpf_disabled)",
    ENOTSUPP: "this kernel does not support the program type",
    _errno.E2BIG: "this kernel is older than the attributes sent (unknown fields in bpf_attr)",
}

_MAP = {
    _errno.EINVAL: "this kernel does not know the map type (too old, or built without its CONFIG option)",
    _errno.EPERM: "the kernel refuses to create this map type (missing capability or lockdown)",
    ENOTSUPP: "this kernel does not support the map type",
    _errno.EOPNOTSUPP: "this kernel does not support the map type",
    _errno.E2BIG: "this kernel is older than the attributes sent (unknown fields in bpf_attr)",
}

_ATTACH = {
    _errno.EINVAL: "this kernel does not know this attach kind (too old, or built without its CONFIG option)",
    _errno.EPERM: "the kernel refuses this attach kind (lockdown, missing CONFIG, or missing capability)",
    ENOTSUPP: "this kernel does not support this attach kind",
    _errno.EOPNOTSUPP: "this kernel does not support this attach kind",
    _errno.ENOENT: "the probe target does not exist on this kernel",
    _errno.ESRCH: "the probe target function is not traceable on this kernel",
}

TABLES = {"prog": _PROG, "map": _MAP, "attach": _ATTACH}


def explain(kind: str, err: int, detail: str = "") -> str:
    """``"EINVAL: <meaning>"`` for a failed probe of ``kind`` ("prog", "map", "attach")."""
    name = errno_name(err)
    meaning = detail or TABLES.get(kind, {}).get(err) or errno_hint(err)
    return f"{name}: {meaning}"
