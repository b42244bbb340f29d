"""Assignments, map keys and updates, aggregations (count, sum, hist buckets...)."""

from __future__ import annotations

from purebpf.asm import FP, R0, R1, R2, R3, R4, AluOp, JmpOp, add, alu, call, ja, jmp, ld_map_fd, ldx, mov, st, stx
from purebpf.trace import ast
from purebpf.trace.codegen.base import BPF_ANY, CodegenBase
from purebpf.trace.semantic import AGGREGATIONS, MapInfo
from purebpf.trace.types import TType


class MapsMixin(CodegenBase):
    # -- assignments -------------------------------------------------------------------

    def store(self, value: ast.Expr, dst: int, dst_type: TType, base=FP) -> None:
        """Evaluate ``value`` into the buffer at ``base + dst`` laid out as ``dst_type``."""
        where = self.expr(value)
        if where is None:
            self.emit(stx(8, base, dst, R0))
        else:
            self.copy_aggregate(dst, dst_type, where, value.type, base)

    def copy_aggregate(self, dst: int, dst_type: TType, src: int, src_type: TType, base=FP) -> None:
        if dst_type.kind == "tuple" and src_type.kind == "tuple":
            for d_off, s_off, d_el, s_el in zip(dst_type.offsets(), src_type.offsets(), dst_type.elems,
                                                src_type.elems, strict=True):
                if d_el.kind == "tuple":
                    self.copy_aggregate(dst + d_off, d_el, src + s_off, s_el, base)
                else:
                    self.copy_resized(dst + d_off, d_el.padded, src + s_off, s_el.padded, base)
        else:
            self.copy_resized(dst, dst_type.padded, src, src_type.padded, base)

    def assign_var(self, target: ast.Variable, value: ast.Expr) -> None:
        vtype = self.scope.variables[target.name]
        self.store(value, self.vars[target.name], vtype, self.f.vbase)

    def map_key(self, node: ast.Map, info: MapInfo) -> int:
        """Build the key of ``node`` on the stack."""
        off = self.alloc(info.key_size)
        if info.key_size > (info.key.padded if info.key is not None else 8):
            self.zero(off, info.key_size)
        if info.key is None:
            self.emit(st(8, FP, off, 0))
        elif len(node.keys) == 1:
            self.store(node.keys[0], off, info.key)
        else:
            pos = 0
            for k, t in zip(node.keys, info.key.elems, strict=True):
                self.store(k, off + pos, t)
                pos += t.padded
        return off

    def map_update(self, name: str, key: int, value: int) -> None:
        self.emit(ld_map_fd(R1, name))
        self.fp_ptr(R2, key)
        self.fp_ptr(R3, value)
        self.emit(mov(R4, BPF_ANY), call("map_update_elem"))

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
        arg = self.alloc(8)
        if func == "count":
            self.emit(st(8, FP, arg, 1))
        else:
            self.expr(call_.args[0])
            if func == "hist":
                self.log2_bucket(info.hist_bits)
            elif func == "lhist":
                self.linear_bucket(info)
            self.emit(stx(8, FP, arg, R0))
        key = self.map_key(target, info)
        if func in ("hist", "lhist"):
            self.emit(ldx(8, R1, FP, arg), stx(8, FP, key + info.key_size - 8, R1), st(8, FP, arg, 1))
        found, done = self.label(), self.label()
        self.map_lookup(target.name, key)
        self.emit(jmp(JmpOp.JNE, R0, 0, found))
        # first value on this CPU: write the initial value
        init = self.alloc(16)
        self.emit(ldx(8, R1, FP, arg))
        if func in ("count", "sum", "hist", "lhist"):
            self.emit(stx(8, FP, init, R1))
        elif func in ("min", "max"):
            self.emit(stx(8, FP, init, R1), st(8, FP, init + 8, 1))
        else:  # avg, stats: (count, total)
            self.emit(st(8, FP, init, 1), stx(8, FP, init + 8, R1))
        self.map_update(target.name, key, init)
        self.emit(ja(done))
        self.place(found)
        self.emit(ldx(8, R1, FP, arg))
        if func in ("count", "sum", "hist", "lhist"):
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
        self.place(neg_)
        self.emit(mov(R0, 0), ja(done))
        self.place(zero_)
        self.emit(mov(R0, 1))
        self.place(done)
        self.emit(ja(0))

    def linear_bucket(self, info: MapInfo) -> None:
        lo, hi, step = info.lhist
        below, above, done = self.label(), self.label(), self.label()
        self.load_imm(R1, lo)
        self.emit(jmp(JmpOp.JSLT, R0, R1, below))
        self.load_imm(R1, hi)
        self.emit(jmp(JmpOp.JSGE, R0, R1, above))
        self.load_imm(R1, lo)
        self.emit(alu(AluOp.SUB, R0, R1), alu(AluOp.DIV, R0, step), add(R0, 1), ja(done))
        self.place(below)
        self.emit(mov(R0, 0), ja(done))
        self.place(above)
        self.emit(mov(R0, info.lhist_buckets - 1))
        self.place(done)
        self.emit(ja(0))
