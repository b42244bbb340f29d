"""Prometheus text exposition (format 0.0.4) and OpenMetrics 1.0.0.

Written by hand because both formats are small and fully specified; the
differences that matter: in the text format a counter's family is named with
its ``_total`` suffix, in OpenMetrics without it, and OpenMetrics ends with
``# EOF``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from purebpf.agent.metrics import Family, Histogram

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def wants_openmetrics(accept: str | None) -> bool:
    """True when the Accept header asks for OpenMetrics (as Prometheus does when it prefers it)."""
    if not accept:
        return False
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if media.strip() != "application/openmetrics-text":
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def format_value(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v)) + ".0"
    return repr(v)


def escape_label(v: str) -> str:
    if "\\" not in v and "\n" not in v and '"' not in v:
        return v
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _label_body(names: Iterable[str], values: Iterable[str]) -> str:
    return ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))


def render(families: list[Family], *, openmetrics: bool = False) -> str:
    out: list[str] = []
    for fam in families:
        suffix = "_total" if fam.kind == "counter" else ""
        family_name = fam.name if openmetrics else fam.name + suffix
        out.append(f"# HELP {family_name} {escape_help(fam.help)}")
        out.append(f"# TYPE {family_name} {fam.kind}")
        for key in sorted(fam.samples):
            value = fam.samples[key]
            body = _label_body(fam.labels, key)
            braced = "{" + body + "}" if body else ""
            if isinstance(value, Histogram):
                bucket = f"{fam.name}_bucket{{{body}{',' if body else ''}le="
                for bound, count in value.buckets:
                    out.append(f'{bucket}"{format_value(float(bound))}"}} {count}')
                out.append(f"{fam.name}_sum{braced} {format_value(value.sum)}")
                out.append(f"{fam.name}_count{braced} {value.count}")
            else:
                out.append(f"{fam.name}{suffix}{braced} {format_value(value)}")
    if openmetrics:
        out.append("# EOF")
    return "\n".join(out) + "\n"
