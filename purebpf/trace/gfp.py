"""Page allocation flags (``gfp_t``) as names, for printf's ``%gr``: the
kernel's own rendering (``GFP_KERNEL|__GFP_ZERO``), composite masks first.

Bit positions come from the kernel's BTF (``enum ___GFP_*_BIT``, kernel 6.10+);
older kernels fall back to the long-stable layout below.
"""

from __future__ import annotations

import functools

# ___GFP_<NAME>_BIT positions of kernels without the enum (6.1-6.9 layout, lockdep off)
_FALLBACK_BITS = {
    "DMA": 0, "HIGHMEM": 1, "DMA32": 2, "MOVABLE": 3, "RECLAIMABLE": 4, "HIGH": 5, "IO": 6, "FS": 7,
    "ZERO": 8, "DIRECT_RECLAIM": 10, "KSWAPD_RECLAIM": 11, "WRITE": 12, "NOWARN": 13, "RETRY_MAYFAIL": 14,
    "NOFAIL": 15, "NORETRY": 16, "MEMALLOC": 17, "COMP": 18, "NOMEMALLOC": 19, "HARDWALL": 20,
    "THISNODE": 21, "ACCOUNT": 22, "ZEROTAGS": 23,
}
# composite flags, in the order the kernel tries them, as sums of base flags
_COMPOSITES = (
    ("GFP_TRANSHUGE", ("HIGH_USER_MOVABLE", "COMP", "NOMEMALLOC", "NOWARN", "-KSWAPD_RECLAIM")),
    ("GFP_TRANSHUGE_LIGHT", ("HIGH_USER_MOVABLE", "COMP", "NOMEMALLOC", "NOWARN", "-RECLAIM")),
    ("GFP_HIGHUSER_MOVABLE", ("HIGH_USER_MOVABLE",)),
    ("GFP_HIGHUSER", ("USER", "HIGHMEM")),
    ("GFP_USER", ("USER",)),
    ("GFP_KERNEL_ACCOUNT", ("KERNEL", "ACCOUNT")),
    ("GFP_KERNEL", ("KERNEL",)),
    ("GFP_NOFS", ("RECLAIM", "IO")),
    ("GFP_ATOMIC", ("HIGH", "KSWAPD_RECLAIM")),
    ("GFP_NOIO", ("RECLAIM",)),
    ("GFP_NOWAIT", ("KSWAPD_RECLAIM",)),
    ("GFP_DMA", ("DMA",)),
    ("__GFP_HIGHMEM", ("HIGHMEM",)),
    ("GFP_DMA32", ("DMA32",)),
)
_SINGLES = ("HIGH", "IO", "FS", "ZERO", "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "MOVABLE", "ACCOUNT", "WRITE",
            "NOWARN", "RETRY_MAYFAIL", "NOFAIL", "NORETRY", "COMP", "NOMEMALLOC", "HARDWALL", "THISNODE",
            "MEMALLOC", "RECLAIMABLE", "ZEROTAGS")


@functools.cache
def _bits() -> dict[str, int]:
    try:
        from purebpf.btf import load_kernel

        values = load_kernel().enum_values("___GFP_DMA_BIT")
        bits = {k[len("___GFP_"):-len("_BIT")]: v for k, v in values.items()
                if k.startswith("___GFP_") and k.endswith("_BIT")}
        if bits:
            return bits
    except Exception:  # no BTF, or no such enum: the fallback layout
        pass
    return dict(_FALLBACK_BITS)


@functools.cache
def flag_table() -> tuple[tuple[str, int], ...]:
    """(name, mask) pairs in the order they are matched."""
    bits = _bits()

    def flag(name: str) -> int:
        return 1 << bits[name] if name in bits else 0

    base = {name: flag(name) for name in bits}
    base["RECLAIM"] = base.get("DIRECT_RECLAIM", 0) | base.get("KSWAPD_RECLAIM", 0)
    base["KERNEL"] = base["RECLAIM"] | base.get("IO", 0) | base.get("FS", 0)
    base["USER"] = base["KERNEL"] | base.get("HARDWALL", 0)
    base["HIGH_USER_MOVABLE"] = base["USER"] | base.get("HIGHMEM", 0) | base.get("MOVABLE", 0) | base.get(
        "SKIP_KASAN", 0)
    table = []
    for name, parts in _COMPOSITES:
        mask = 0
        for part in parts:
            mask = mask & ~base.get(part[1:], 0) if part.startswith("-") else mask | base.get(part, 0)
        if mask:
            table.append((name, mask))
    table += [(f"__GFP_{name}", base[name]) for name in _SINGLES if base.get(name)]
    return tuple(table)


def gfp_text(flags: int) -> str:
    """``0x1`` -> ``GFP_DMA``; bits without a name stay as hex."""
    names = []
    for name, mask in flag_table():
        if flags and flags & mask == mask:
            names.append(name)
            flags &= ~mask
    if flags:
        names.append(f"{flags:#x}")
    return "|".join(names) if names else "0"
