"""Assignments, map keys and updates, aggregations (count, sum, hist buckets...)."""

from __future__ import annotations

import os

from purebpf.asm import FP, R0, R1, R2, R3, R4, AluOp, JmpOp, add, alu, call, ja, jmp, ld_map_fd, ldx, mov, st, stx
from purebpf.trace import ast
from purebpf.trace.codegen.base import BPF_ANY, CodegenBase, Event
from purebpf.trace.semantic import AGGREGATIONS, MapInfo
from purebpf.trace.types import TType


def same_layout(src: TType, dst: TType, nested: bool = False) -> bool:
    """True when :meth:`MapsMixin.copy_aggregate` would copy ``src`` to ``dst`` byte for byte."""
    if src.kind == "tuple" and dst.kind == "tuple":
        return src.names == dst.names and len(src.elems) == len(dst.elems) and src.offsets() == dst.offsets() \
            and all(same_layout(s, d, True) for s, d in zip(src.elems, dst.elems, strict=True))
    if nested:  # inside a tuple: the element's own bytes
        return src.field_size == dst.field_size and src.is_aggregate == dst.is_aggregate
    return src.padded == dst.padded


E2BIG = 7  # what map_update_elem returns (negated) when a hash map is full


class MapsMixin(CodegenBase):
    # -- assignments -------------------------------------------------------------------

    def store(self, value: ast.Expr, dst: int, dst_type: TType, base=FP) -> None:
        """Evaluate ``value`` into the buffer at ``base + dst`` laid out as ``dst_type``."""
        self.put(self.expr(value), value.type, dst, dst_type, base)

    def put(self, where: int | None, src_type: TType, dst: int, dst_type: TType, base=FP) -> None:
        """Move a value :meth:`expr` produced (R0 when ``where`` is None) to ``base + dst``."""
        if where is None:
            self.emit(stx(8, base, dst, R0))
        else:
            self.copy_aggregate(dst, dst_type, where, src_type, base)

    def put_field(self, where: int | None, src_type: TType, dst: int, dst_type: TType, base=FP) -> None:
        """Move a value :meth:`expr` produced into a tuple element at ``base + dst``: exactly the
        element's bytes (integers at their own width), as C lays out a struct."""
        if where is None:
            self.emit(stx(dst_type.field_size, base, dst, R0))
        elif not dst_type.is_aggregate:  # a scalar read from memory (another tuple's element)
            self.load_field(src_type, where, reg=R1)
            self.emit(stx(dst_type.field_size, base, dst, R1))
        elif dst_type.kind == "tuple" and src_type.kind == "tuple":
            self.copy_aggregate(dst, dst_type, where, src_type, base, nested=True)
        else:
            n = min(dst_type.size, src_type.size)
            self.copy_exact(dst, where, n, dst_base=base)
            self.zero_exact(dst + n, dst_type.size - n, base)

    def copy_aggregate(self, dst: int, dst_type: TType, src: int, src_type: TType, base=FP,
                       nested: bool = False) -> None:
        if dst_type.kind == "tuple" and src_type.kind == "tuple":
            if same_layout(src_type, dst_type, nested):
                self.copy_exact(dst, src, dst_type.size, dst_base=base)
                if not nested:
                    self.zero_exact(dst + dst_type.size, dst_type.padded - dst_type.size, base)
                return
            # padding between elements is zero: tuples are compared byte for byte as map keys
            self.zero_exact(dst, dst_type.size if nested else dst_type.padded, base)
            s_offs, s_elems = src_type.offsets(), list(src_type.elems)
            if dst_type.names != src_type.names:  # a record written with its fields in another order
                order = [src_type.names.index(n) for n in dst_type.names]
                s_offs, s_elems = [s_offs[i] for i in order], [s_elems[i] for i in order]
            for d_off, s_off, d_el, s_el in zip(dst_type.offsets(), s_offs, dst_type.elems, s_elems,
                                                strict=True):
                self.put_field(src + s_off, s_el, dst + d_off, d_el, base)
        else:
            self.copy_resized(dst, dst_type.padded, src, src_type.padded, base)

    def assign_var(self, target: ast.Variable, value: ast.Expr) -> None:
        vtype = self.scope.variables[target.name]
        self.store(value, self.vars[target.name], vtype, self.f.vbase)

    def map_key(self, node: ast.Map, info: MapInfo, tail_written: bool = False) -> int:
        """Build the key of ``node`` on the stack.

        A single key whose value already lies on the stack laid out as the key
        (``@[comm]``, ``@["x"]``) is used where it is, not copied: map helpers
        only read the key, and callers write into a key only when it is longer
        than its value (hist's bucket, tseries' slot: the tail, zeroed here
        unless the caller says it writes it)."""
        padded = info.key.padded if info.key is not None else 8
        if info.key is not None and len(node.keys) == 1 and info.key_size == padded:
            where = self.expr(node.keys[0])
            if where is not None and same_layout(node.keys[0].type, info.key):
                return where
            off = self.alloc(info.key_size)
            self.put(where, node.keys[0].type, off, info.key)
            return off
        off = self.alloc(info.key_size)
        if info.key is None:
            self.emit(st(8, FP, off, 0))
        elif len(node.keys) == 1:  # store writes every byte of the key's padded size
            self.store(node.keys[0], off, info.key)
        else:  # several keys: one tuple, its padding zero
            self.clear(off, padded)
            for k, t, pos in zip(node.keys, info.key.elems, info.key.offsets(), strict=True):
                self.put_field(self.expr(k), k.type, off + pos, t)
        if info.key_size > padded and not tail_written:
            self.zero(off + padded, info.key_size - padded)
        return off

    def map_update(self, name: str, key: int, value: int) -> None:
        """Store an element; a full map (-E2BIG) is reported to user space as bpftrace reports it."""
        self.emit(ld_map_fd(R1, name))
        self.fp_ptr(R2, key)
        self.fp_ptr(R3, value)
        self.emit(mov(R4, BPF_ANY), call("map_update_elem"))
        stored = self.label()
        self.emit(jmp(JmpOp.JNE, R0, -E2BIG, stored))
        self.send(Event("warnf", "Map full; can't update element."), [])
        self.place(stored)
        self.emit(ja(0))

    def map_lookup(self, name: str, key: int) -> None:
        self.emit(ld_map_fd(R1, name))
        self.fp_ptr(R2, key)
        self.emit(call("map_lookup_elem"))

    def assign_map(self, target: ast.Map, value: ast.Expr) -> None:
        info = self.ctx.maps[target.name]
        if isinstance(value, ast.Call) and value.func in AGGREGATIONS:
            self.aggregate(target, info, value)
            return
        val = self.alloc(info.value_size)
        if info.per_cpu:  # @count_map = 5: a plain store into this CPU's slot
            self.zero(val, info.value_size)
            self.expr(value)
            self.emit(stx(8, FP, val, R0))
            if info.kind in ("min", "max"):
                self.emit(st(8, FP, val + 8, 1))
        else:
            self.store(value, val, info.value)
        key = self.map_key(target, info)
        self.map_update(target.name, key, val)

    def aggregate(self, target: ast.Map, info: MapInfo, call_: ast.Call) -> None:
        func = call_.func
        if func == "tseries":
            self.aggregate_tseries(target, info, call_)
            return
        # count and the histograms add 1 (an immediate); the others add the argument, kept on the stack
        # while the key is built
        arg = self.alloc(8) if func != "count" else 0
        if func != "count":
            self.expr(call_.args[0])
            if func == "hist":
                self.log2_bucket(info.hist_bits)
            elif func == "lhist":
                self.linear_bucket(info)
            self.emit(stx(8, FP, arg, R0))
        key = self.map_key(target, info, tail_written=func in ("hist", "lhist"))
        if func in ("hist", "lhist"):
            self.emit(ldx(8, R1, FP, arg), stx(8, FP, key + info.key_size - 8, R1))
        found, done = self.label(), self.label()
        self.map_lookup(target.name, key)
        self.emit(jmp(JmpOp.JNE, R0, 0, found))
        # first value on this CPU: write the initial value
        init = self.alloc(16)
        ones = func in ("count", "hist", "lhist")
        if not ones:
            self.emit(ldx(8, R1, FP, arg))
        if ones:
            self.emit(st(8, FP, init, 1))
        elif func == "sum":
            self.emit(stx(8, FP, init, R1))
        elif func in ("min", "max"):
            self.emit(stx(8, FP, init, R1), st(8, FP, init + 8, 1))
        else:  # avg, stats: (count, total)
            self.emit(st(8, FP, init, 1), stx(8, FP, init + 8, R1))
        self.map_update(target.name, key, init)
        self.emit(ja(done))
        self.place(found)
        if not ones:
            self.emit(ldx(8, R1, FP, arg))
        if ones:
            self.emit(ldx(8, R2, R0, 0), add(R2, 1), stx(8, R0, 0, R2))
        elif func == "sum":
            self.emit(ldx(8, R2, R0, 0), add(R2, R1), stx(8, R0, 0, R2))
        elif func in ("min", "max"):
            keep = self.label()
            op = JmpOp.JSLE if func == "max" else JmpOp.JSGE
            self.emit(ldx(8, R2, R0, 8), jmp(JmpOp.JEQ, R2, 0, f"{keep}set"),
                      ldx(8, R2, R0, 0), jmp(op, R1, R2, keep))
            self.place(f"{keep}set")
            self.emit(stx(8, R0, 0, R1), st(8, R0, 8, 1))
            self.place(keep)
            self.emit(ja(done))
        else:
            self.emit(ldx(8, R2, R0, 0), add(R2, 1), stx(8, R0, 0, R2),
                      ldx(8, R2, R0, 8), add(R2, R1), stx(8, R0, 8, R2))
        self.place(done)
        self.emit(ja(0))

    def log2_bucket(self, bits: int = 0) -> None:
        """R0 (signed) -> bucket: 0 negative, 1 zero, then log2 buckets, each split in 2^bits."""
        neg_, zero_, done = self.label(), self.label(), self.label()
        self.emit(jmp(JmpOp.JSLT, R0, 0, neg_), jmp(JmpOp.JEQ, R0, 0, zero_), mov(R3, R0), mov(R1, 0))
        for shift in (32, 16, 8, 4, 2, 1):  # R1 = floor(log2(R0))
            skip = self.label()
            self.emit(mov(R2, R0), alu(AluOp.RSH, R2, shift), jmp(JmpOp.JEQ, R2, 0, skip),
                      mov(R0, R2), add(R1, shift))
            self.place(skip)
        self.emit(ja(0))
        if bits == 0:
            self.emit(mov(R0, R1), add(R0, 2), ja(done))
        else:
            # values below 2^bits get one bucket each; above, 2^bits sub-buckets per power of two
            small = self.label()
            self.emit(jmp(JmpOp.JLT, R1, bits, small),
                      # sub = (v >> (log2 - bits)) & (2^bits - 1)
                      mov(R2, R1), alu(AluOp.SUB, R2, bits), mov(R0, R3), alu(AluOp.RSH, R0, R2),
                      alu(AluOp.AND, R0, (1 << bits) - 1),
                      # bucket = 2 + 2^bits + (log2 - bits) * 2^bits + sub
                      mov(R2, R1), alu(AluOp.SUB, R2, bits), alu(AluOp.LSH, R2, bits), alu(AluOp.ADD, R0, R2),
                      add(R0, 1 + (1 << bits)), ja(done))
            self.place(small)
            self.emit(mov(R0, R3), add(R0, 1), ja(done))
        self.r0_from(done, (neg_, 0), (zero_, 1))

    def linear_bucket(self, info: MapInfo) -> None:
        lo, hi, step = info.lhist
        below, above, done = self.label(), self.label(), self.label()
        self.load_imm(R1, lo)
        self.emit(jmp(JmpOp.JSLT, R0, R1, below))
        self.load_imm(R1, hi)
        self.emit(jmp(JmpOp.JSGE, R0, R1, above))
        self.load_imm(R1, lo)
        self.emit(alu(AluOp.SUB, R0, R1), alu(AluOp.DIV, R0, step), add(R0, 1), ja(done))
        self.r0_from(done, (below, 0), (above, info.lhist_buckets - 1))

    def time_ns(self) -> None:
        """R0 = now (ns).  With ``BPFTRACE_DUMMY_TS_MAP=@m`` the time is read from the scalar map ``@m``
        instead, as bpftrace does, so tests can drive time series with made-up clocks."""
        dummy = os.environ.get("BPFTRACE_DUMMY_TS_MAP")
        info = self.ctx.maps.get(dummy) if dummy else None
        if info is None or info.key is not None or info.kind != "value" or info.value.kind != "int":
            self.emit(call("ktime_get_ns"))
            return
        key, none = self.alloc(8), self.label()
        self.emit(st(8, FP, key, 0))
        self.map_lookup(dummy, key)
        self.emit(jmp(JmpOp.JEQ, R0, 0, none), ldx(8, R0, R0, 0))
        self.place(none)
        self.emit(ja(0))

    def aggregate_tseries(self, target: ast.Map, info: MapInfo, call_: ast.Call) -> None:
        """One per-CPU slot per (key, epoch % num_intervals): ``{value, meta, epoch}``; a slot holding an
        older epoch starts over.  ``meta`` is the write time (last value wins) or the sample count (avg)."""
        interval, count, agg = info.tseries
        value, now, epoch = self.alloc(8), self.alloc(8), self.alloc(8)
        self.expr(call_.args[0])
        self.emit(stx(8, FP, value, R0))
        self.time_ns()
        self.emit(stx(8, FP, now, R0))
        self.load_imm(R1, interval)
        self.emit(alu(AluOp.DIV, R0, R1), stx(8, FP, epoch, R0))
        key = self.map_key(target, info)
        self.load_imm(R1, count)
        self.emit(ldx(8, R0, FP, epoch), alu(AluOp.MOD, R0, R1), stx(8, FP, key + info.key_size - 8, R0))
        found, reset, done = self.label(), self.label(), self.label()
        self.map_lookup(target.name, key)
        self.emit(jmp(JmpOp.JNE, R0, 0, found))
        init = self.alloc(24)
        self.emit(ldx(8, R1, FP, value), stx(8, FP, init, R1), ldx(8, R1, FP, epoch), stx(8, FP, init + 16, R1))
        self._tseries_meta(agg, R1, now)
        self.emit(stx(8, FP, init + 8, R1))
        self.map_update(target.name, key, init)
        self.emit(ja(done))
        self.place(found)
        self.emit(ldx(8, R1, R0, 16), ldx(8, R2, FP, epoch), jmp(JmpOp.JNE, R1, R2, reset), ldx(8, R1, FP, value))
        if agg == "":
            self.emit(stx(8, R0, 0, R1), ldx(8, R1, FP, now), stx(8, R0, 8, R1))
        elif agg in ("avg", "sum"):
            self.emit(ldx(8, R2, R0, 0), add(R2, R1), stx(8, R0, 0, R2))
            if agg == "avg":
                self.emit(ldx(8, R2, R0, 8), add(R2, 1), stx(8, R0, 8, R2))
        else:
            signed = info.value.signed
            keep = {("min", False): JmpOp.JGE, ("min", True): JmpOp.JSGE,
                    ("max", False): JmpOp.JLE, ("max", True): JmpOp.JSLE}[agg, signed]
            self.emit(ldx(8, R2, R0, 0), jmp(keep, R1, R2, done), stx(8, R0, 0, R1))
        self.emit(ja(done))
        self.place(reset)
        self.emit(ldx(8, R1, FP, value), stx(8, R0, 0, R1), ldx(8, R1, FP, epoch), stx(8, R0, 16, R1))
        self._tseries_meta(agg, R1, now)
        self.emit(stx(8, R0, 8, R1))
        self.place(done)
        self.emit(ja(0))

    def _tseries_meta(self, agg: str, reg, now: int) -> None:
        if agg == "":
            self.emit(ldx(8, reg, FP, now))
        else:
            self.emit(mov(reg, 1 if agg == "avg" else 0))
