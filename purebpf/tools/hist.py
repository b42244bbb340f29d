"""Histograms as libbpf-tools prints them ("usecs : count distribution" with
stars), and as JSON: a power-of-two histogram is a list of slot counts where
slot 0 holds 0 and 1 and slot s >= 1 holds [2^s, 2^(s+1) - 1]."""

from __future__ import annotations

from purebpf.tools.common import cfmt

TYPE_CHECKING = False  # typing costs ~1.5 ms to import (with re and contextlib); only type checkers need it
if TYPE_CHECKING:
    from typing import Any

MAX_SLOTS = 27  # libbpf-tools keeps 26/27; the last slot also takes everything larger


def slot_bounds(i: int) -> tuple[int, int]:
    low, high = (1 << (i + 1)) >> 1, (1 << (i + 1)) - 1
    return (low - 1, high) if low == high else (low, high)


def stars(value: int, max_value: int, width: int) -> str:
    n = min(value, max_value) * width // max_value if max_value else 0
    return "*" * n + " " * (width - n) + ("+" if value > max_value else "")


def log2_lines(counts: list[int], unit: str) -> list[str]:
    """The lines of libbpf-tools' ``print_log2_hist``: nothing when all counts are 0."""
    idx_max = max((i for i, c in enumerate(counts) if c), default=-1)
    if idx_max < 0:
        return []
    max_value = max(counts)
    small = idx_max <= 32
    lines = [cfmt("%*s%-*s : count    distribution", 5 if small else 15, "", 19 if small else 29, unit)]
    width, bar = (10, 40) if small else (20, 20)
    for i in range(idx_max + 1):
        low, high = slot_bounds(i)
        lines.append(cfmt("%*d -> %-*d : %-8d |", width, low, width, high, counts[i])
                     + stars(counts[i], max_value, bar) + "|")
    return lines


def log2_json(counts: list[int]) -> list[dict[str, int]]:
    return [{"low": slot_bounds(i)[0], "high": slot_bounds(i)[1], "count": c} for i, c in enumerate(counts) if c]


def hist_record(unit: str, counts: list[int], **key: Any) -> dict[str, Any]:
    return {**key, "unit": unit, "buckets": log2_json(counts), "total": sum(counts)}


def log2_slot(value: int) -> int:
    """The slot of ``value`` (what the kernel side computes)."""
    return max(value.bit_length() - 1, 0)


def drain(m: Any, decode_key: Any, slots: int, *, tail: str = "",
          clear: bool = True) -> list[tuple[Any, list[int], tuple]]:
    """Read every (key, slot counts, extra fields) of a histogram map whose
    values are ``slots`` u32 counters followed by ``tail`` (a struct format),
    and empty it: each interval starts from zero, as in libbpf-tools."""
    import struct

    fmt = struct.Struct(f"<{slots}I{tail}")
    out = []
    for key, raw in list(m.items_raw()):
        values = fmt.unpack_from(raw)
        out.append((decode_key(key), list(values[:slots]), values[slots:]))
        if clear:
            m.delete_raw(key)
    return out


def linear_lines(counts: list[int], unit: str, base: int = 0, step: int = 1) -> list[str]:
    """The lines of libbpf-tools' ``print_linear_hist``: one per non-zero value."""
    used = [i for i, c in enumerate(counts) if c]
    if not used:
        return []
    max_value = max(counts)
    lines = [cfmt("     %-13s : count     distribution", unit)]
    for i in range(used[0], used[-1] + 1):
        if counts[i]:
            lines.append(cfmt("        %-10d : %-8d |", base + i * step, counts[i]) + stars(counts[i], max_value, 40)
                         + "|")
    return lines
