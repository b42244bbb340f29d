"""Semantic analysis: the type of every expression, the kind and layout of
every map, checks that builtins and functions are used where they can be.

Runs once per concrete probe (after expansion), because ``args`` and the
argument builtins mean different things on different probes.  Map types are
program-wide and accumulate across probes; errors become diagnostics.
"""

from __future__ import annotations

from purebpf.trace.semantic.calls import CallsMixin
from purebpf.trace.semantic.expressions import ExpressionsMixin
from purebpf.trace.semantic.maps import MapsMixin
from purebpf.trace.semantic.scope import (
    AGGREGATIONS,
    PROBE_TYPES,
    Environment,
    MapInfo,
    ProbeScope,
    storage_type,
    unify,
)
from purebpf.trace.semantic.statements import StatementsMixin


class Semantic(StatementsMixin, MapsMixin, ExpressionsMixin, CallsMixin):
    """The analysis: one mixin per kind of node over the shared state of
    :class:`~purebpf.trace.semantic.base.SemanticBase`."""


__all__ = ["AGGREGATIONS", "PROBE_TYPES", "Environment", "MapInfo", "ProbeScope", "Semantic", "storage_type", "unify"]
