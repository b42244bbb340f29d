"""Maps: their kinds, keys and values, learned from every use; aggregations."""

from __future__ import annotations

from purebpf.trace import ast
from purebpf.trace.semantic.base import SemanticBase
from purebpf.trace.semantic.scope import (
    AGGREGATIONS,
    CONST_OPS,
    READABLE_AGGREGATIONS,
    TSERIES_AGGS,
    MapInfo,
    ProbeScope,
    key_text,
    unify,
)
from purebpf.trace.types import INT64, NONE, UINT64, TType, Tup


class MapsMixin(SemanticBase):
    def map_info(self, node: ast.Map) -> MapInfo:
        info = self.maps.get(node.name)
        if info is None:
            info = self.maps[node.name] = MapInfo(node.name, loc=node.loc)
        return info

    def key_type(self, keys: list[ast.Expr], scope: ProbeScope) -> TType | None:
        if not keys:
            return None
        # one key stands alone (an integer in a 64-bit slot); several make a tuple (C layout)
        types = [self.expr(k, scope) for k in keys]
        for k, t in zip(keys, types, strict=True):
            if t.kind == "none":
                self.error("Invalid map key: expression has no value", k.loc)
        return self.stored(types[0]) if len(types) == 1 else self.stored(Tup(types))

    def _map_keys(self, node: ast.Map, scope: ProbeScope, key: TType | None = None, given: bool = False) -> None:
        info = self.map_info(node)
        if not given:
            key = self.key_type(node.keys, scope)
        if not info.keys_seen:
            info.key = key
        elif (info.key is None) != (key is None):
            self.error(f"Argument mismatch for {node.name}: trying to access with "
                       f"{'no arguments' if key is None else 'arguments'} when map expects "
                       f"{'no arguments' if info.key is None else 'arguments'}", node.loc)
        elif key is not None and info.key is not None:
            common = unify(info.key, key)
            if common is None:
                self.error(f"Argument mismatch for {node.name}: trying to access with arguments: "
                           f"'{key_text(key)}' when map expects arguments: '{key_text(info.key)}'", node.loc)
            else:
                info.key = common
        info.keys_seen = True

    def assign_map(self, target: ast.Map, value: ast.Expr, scope: ProbeScope) -> None:
        self._map_keys(target, scope)
        info = self.map_info(target)
        if isinstance(value, ast.Call) and value.func in AGGREGATIONS:
            self._aggregation(info, target, value, scope)
            target.type = info.value
            return
        vtype = self.expr(value, scope)
        if vtype.kind == "none":
            self.error("Invalid expression for assignment: no value", value.loc)
            return
        stored = self.stored(vtype, value.loc)
        if info.kind == "value":
            common = unify(info.value, stored)
        elif info.kind in READABLE_AGGREGATIONS and stored.kind == "int":
            common = info.value  # @count_map = 5: stores into this CPU's slot
        else:
            common = stored if not info.kind else None
        if common is None:
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type '{vtype}' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        if not info.kind:
            info.kind = "value"
        info.value = common
        target.type = common

    def _aggregation(self, info: MapInfo, target: ast.Map, call: ast.Call, scope: ProbeScope) -> None:
        func = call.func
        if func == "tseries":
            self._tseries(info, target, call, scope)
            return
        want = {"count": (0, 0), "sum": (1, 1), "min": (1, 1), "max": (1, 1), "avg": (1, 1), "stats": (1, 1),
                "hist": (1, 2), "lhist": (4, 4)}[func]
        if not want[0] <= len(call.args) <= want[1]:
            words = {0: "no arguments", 1: "one argument", 4: "4 arguments"}[want[0]]
            if func == "hist":
                words = "1 or 2 arguments"
            self.error(f"{func}() requires {words} ({len(call.args)} provided)", call.loc)
            return
        for arg in call.args:
            t = self.expr(arg, scope)
            if t.kind not in ("int", "bool", "pointer"):
                self.error(f"{func}() only supports integer arguments ({t} provided)", arg.loc)
        if func == "lhist":
            consts = []
            for arg, what in zip(call.args[1:], ("min", "max", "step"), strict=True):
                value = self.const_int(arg)
                if value is None:
                    self.error(f"lhist() {what} must be an integer literal", arg.loc)
                    return
                consts.append(value)
            lo, hi, step = consts
            if step <= 0 or hi <= lo:
                self.error("lhist() step must be >= 1 and max must be larger than min", call.loc)
                return
            if info.kind == "lhist" and info.lhist != (lo, hi, step):
                self.error(f"Type mismatch for {info.name}: lhist() arguments differ", call.loc)
            info.lhist = (lo, hi, step)
        if func == "hist" and len(call.args) == 2:
            bits = self.const_int(call.args[1])
            if bits is None or not 0 <= bits <= 5:
                self.error("hist() second argument must be an integer literal from 0 to 5", call.args[1].loc)
                return
            info.hist_bits = bits
        if info.kind and info.kind != func:
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type '{func}' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        info.kind = func
        info.value = INT64 if func != "count" else UINT64
        call.type = NONE

    def _tseries(self, info: MapInfo, target: ast.Map, call: ast.Call, scope: ProbeScope) -> None:
        """``tseries(value, interval, num_intervals[, agg])``: the last ``num_intervals`` intervals of
        ``interval`` ns, each keeping the last value written in it (or its avg/max/min/sum)."""
        if not 3 <= len(call.args) <= 4:
            self.error(f"tseries() requires 3 or 4 arguments ({len(call.args)} provided)", call.loc)
            return
        t = self.expr(call.args[0], scope)
        if t.kind not in ("int", "bool", "pointer"):
            self.error(f"tseries() only supports integer arguments ({t} provided)", call.args[0].loc)
        interval, count = self.const_int(call.args[1]), self.const_int(call.args[2])
        if interval is None or interval <= 0:
            self.error("tseries() interval_ns must be a positive integer literal", call.args[1].loc)
            return
        if count is None or not 1 <= count <= 1_000_000:
            self.error("tseries() num_intervals must be an integer literal from 1 to 1000000", call.args[2].loc)
            return
        agg = ""
        if len(call.args) == 4:
            arg = call.args[3]
            if not isinstance(arg, ast.String) or arg.value not in TSERIES_AGGS:
                self.error("tseries() aggregation must be one of: " + ", ".join(f'"{a}"' for a in TSERIES_AGGS),
                           arg.loc)
                return
            agg = arg.value
        if info.kind and info.kind != "tseries":
            had = info.kind if info.kind in AGGREGATIONS else info.value
            self.error(f"Type mismatch for {info.name}: trying to assign value of type 'tseries' "
                       f"when map already contains a value of type '{had}'", target.loc)
            return
        if info.kind == "tseries" and info.tseries != (interval, count, agg):
            self.error(f"Type mismatch for {info.name}: tseries() arguments differ", call.loc)
            return
        info.kind = "tseries"
        info.tseries = (interval, count, agg)
        info.value = INT64 if t.kind == "int" and t.signed else UINT64
        call.type = NONE

    def const_int(self, e: ast.Expr) -> int | None:
        """The value of a compile-time integer (literals, positional parameters, negations)."""
        if isinstance(e, ast.Integer):
            return e.value
        if isinstance(e, ast.PositionalParameter):
            value = self.param_value(e.index)
            return value if isinstance(value, int) else None
        if isinstance(e, ast.Unop) and e.op == "-":
            inner = self.const_int(e.expr)
            return -inner if inner is not None else None
        if isinstance(e, ast.Binop) and e.op in CONST_OPS:
            left, right = self.const_int(e.left), self.const_int(e.right)
            if left is None or right is None or (e.op in ("/", "%") and right == 0):
                return None
            return CONST_OPS[e.op](left, right)
        return None

    def param_value(self, index: int) -> int | str:
        params = self.env.params
        if index == 0:
            return len(params)
        if index > len(params):
            return 0
        from purebpf.trace.codegen import parse_param
        return parse_param(params[index - 1])
