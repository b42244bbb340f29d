"""Turn code sections into loadable programs: split sections into functions,
append the subprograms each program calls (bpf-to-bpf calls, callbacks), and
record every map / global-data / extern reference for the loader to fill in.

Subprograms live in ``.text``.  As libbpf does, each entry program gets its own
copy of every subprogram it reaches, appended depth-first in the order of first
call, and each call's ``imm`` is rewritten to the new relative position; the
func_info / line_info records move with their instructions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from purebpf.elf.btf_ext import BTFExt, FuncInfo, LineInfo
from purebpf.elf.maps import MapDef
from purebpf.elf.reader import R_BPF_64_32, R_BPF_64_64, ElfFile, Relocation, Section
from purebpf.elf.sections import ProgSection, parse_section
from purebpf.errors import InvalidInputError

INSN = 8
OP_CALL = 0x85           # BPF_JMP | BPF_CALL
OP_LD_IMM64 = 0x18       # BPF_LD | BPF_DW | BPF_IMM
PSEUDO_CALL = 1
PSEUDO_KFUNC_CALL = 2
PSEUDO_MAP_FD = 1
PSEUDO_MAP_VALUE = 2
PSEUDO_BTF_ID = 3
PSEUDO_FUNC = 4
_I32 = struct.Struct("<i")
_I16 = struct.Struct("<h")


# ---- raw instruction access ------------------------------------------------------------------

def opcode(code: bytes | bytearray, idx: int) -> int:
    return code[idx * INSN]


def src_reg(code: bytes | bytearray, idx: int) -> int:
    return code[idx * INSN + 1] >> 4


def set_src_reg(code: bytearray, idx: int, src: int) -> None:
    code[idx * INSN + 1] = (code[idx * INSN + 1] & 0x0F) | (src << 4)


def imm(code: bytes | bytearray, idx: int) -> int:
    return _I32.unpack_from(code, idx * INSN + 4)[0]


def set_imm(code: bytearray, idx: int, value: int) -> None:
    value &= 0xFFFFFFFF
    _I32.pack_into(code, idx * INSN + 4, value - (1 << 32) if value & 0x80000000 else value)


def set_off(code: bytearray, idx: int, value: int) -> None:
    _I16.pack_into(code, idx * INSN + 2, value)


# ---- what a relocation refers to ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ref:
    """A reference the loader resolves at an instruction of a linked program.

    ``kind``: ``map`` (ld_imm64 of a map), ``data`` (pointer into a global-data
    map at ``offset``), ``extern`` (``.kconfig`` / ``__ksym`` variable), ``kfunc``
    (call of a kernel function)."""
    insn: int
    kind: str
    target: str
    offset: int = 0

    def moved(self, delta: int) -> Ref:
        return Ref(self.insn + delta, self.kind, self.target, self.offset)


@dataclass
class Function:
    name: str
    section: Section
    start: int     # first instruction (slot) in the section
    count: int
    calls: dict[int, tuple[str, int]] = field(default_factory=dict)  # insn -> (section, target insn)
    refs: list[Ref] = field(default_factory=list)                     # insn relative to ``start``


@dataclass
class LinkedProgram:
    """An entry program with its subprograms appended: ready for map fds and loading."""
    name: str
    section: ProgSection
    code: bytearray
    func_info: list[FuncInfo]
    line_info: list[LineInfo]
    refs: list[Ref]
    functions: list[tuple[str, int]]   # (function name, first instruction) in layout order
    poisoned: dict[int, str] = field(default_factory=dict)  # insn -> why CO-RE could not relocate it

    @property
    def insn_count(self) -> int:
        return len(self.code) // INSN


class Linker:
    """Links every entry program of one object."""

    def __init__(self, elf: ElfFile, ext: BTFExt | None, maps: list[MapDef],
                 code: dict[int, bytearray], externs: set[str] = frozenset(),
                 poison: dict[int, dict[int, str]] | None = None) -> None:
        self.elf = elf
        self.poison = poison or {}
        self.ext = ext or BTFExt()
        self.code = code            # section index -> its (CO-RE relocated) code
        self.externs = externs
        self._maps_by_place = {(m.section, m.symbol_offset): m for m in maps if not m.is_data}
        self._data_sections = {m.section: m for m in maps if m.is_data}
        text = elf.section(".text")
        self.text_index = text.index if text is not None else -1
        self.functions: dict[int, list[Function]] = {}
        for index in code:
            self.functions[index] = self._split(elf.sections[index])

    # -- functions ------------------------------------------------------------------------------

    def _split(self, sec: Section) -> list[Function]:
        if sec.size % INSN:
            raise InvalidInputError(f"{self.elf.path}: code section {sec.name} is {sec.size} bytes, "
                                    "not a whole number of instructions")
        total = sec.size // INSN
        syms = [s for s in self.elf.symbols_in(sec.index, "FUNC")]
        if not syms:
            if sec.index == self.text_index:
                return []
            syms_starts = [(sec.name.replace("/", "_"), 0)]
        else:
            syms_starts = [(s.name, s.value // INSN) for s in syms]
        funcs = []
        for i, (name, start) in enumerate(syms_starts):
            end = syms_starts[i + 1][1] if i + 1 < len(syms_starts) else total
            funcs.append(Function(name, sec, start, end - start))
        by_insn = {rel.offset // INSN: rel for rel in sec.relocations}
        for fn in funcs:
            self._scan(fn, by_insn)
        return funcs

    def _scan(self, fn: Function, relocs: dict[int, Relocation]) -> None:
        code = self.code[fn.section.index]
        idx, end = fn.start, fn.start + fn.count
        while idx < end:
            op = opcode(code, idx)
            rel = relocs.get(idx)
            if op == OP_CALL and src_reg(code, idx) == PSEUDO_CALL:
                self._call(fn, idx, rel, code)
            elif rel is not None:
                self._reference(fn, idx, rel, code)
            idx += 2 if op == OP_LD_IMM64 else 1

    def _where(self, fn: Function, idx: int) -> str:
        return f"{self.elf.path}: {fn.section.name}+{idx * INSN:#x} (in {fn.name})"

    def _call(self, fn: Function, idx: int, rel: Relocation | None, code: bytearray) -> None:
        if rel is None:  # static call within the same section: imm is relative
            target_sec, target = fn.section.index, idx + imm(code, idx) + 1
        else:
            sym = rel.symbol
            if rel.type != R_BPF_64_32:
                raise InvalidInputError(f"{self._where(fn, idx)}: call relocation of type {rel.type}, "
                                        "expected R_BPF_64_32")
            if sym.is_extern:
                fn.refs.append(Ref(idx - fn.start, "kfunc", sym.name))
                return
            target_sec, target = sym.section, sym.value // INSN + imm(code, idx) + 1
        if target_sec != self.text_index:
            raise InvalidInputError(f"{self._where(fn, idx)}: calls into section "
                                    f"{self.elf.sections[target_sec].name}; subprograms must be in .text")
        fn.calls[idx - fn.start] = (target_sec, target)

    def _reference(self, fn: Function, idx: int, rel: Relocation, code: bytearray) -> None:
        sym, where = rel.symbol, self._where(fn, idx)
        rel_idx = idx - fn.start
        if opcode(code, idx) != OP_LD_IMM64:
            raise InvalidInputError(f"{where}: relocation against '{sym.name}' on an instruction that is not "
                                    "a 64-bit load or a call")
        if rel.type != R_BPF_64_64:
            raise InvalidInputError(f"{where}: relocation type {rel.type} on ld_imm64, expected R_BPF_64_64")
        if sym.is_extern:
            if sym.name not in self.externs:
                raise InvalidInputError(f"{where}: extern '{sym.name}' is not declared in .kconfig or .ksyms")
            fn.refs.append(Ref(rel_idx, "extern", sym.name))
            return
        sec = self.elf.sections.get(sym.section)
        if sec is None:
            raise InvalidInputError(f"{where}: relocation against '{sym.name}' in a section purebpf does not read")
        if sym.section == self.text_index:
            target = (sym.value + imm(code, idx)) // INSN
            set_src_reg(code, idx, PSEUDO_FUNC)
            fn.calls[rel_idx] = (sym.section, target)
            return
        mdef = self._maps_by_place.get((sec.name, sym.value))
        if mdef is not None:
            fn.refs.append(Ref(rel_idx, "map", mdef.name))
            return
        data = self._data_sections.get(sec.name)
        if data is not None:
            fn.refs.append(Ref(rel_idx, "data", data.name, sym.value + imm(code, idx)))
            return
        if sec.name in (".maps", "maps"):
            raise InvalidInputError(f"{where}: '{sym.name}' points into {sec.name} but is not a map definition")
        raise InvalidInputError(f"{where}: reference to '{sym.name or sec.name}' in section {sec.name}, "
                                "which is neither a map nor global data")

    # -- linking --------------------------------------------------------------------------------

    def entry_functions(self) -> list[Function]:
        return [fn for index, fns in sorted(self.functions.items()) if index != self.text_index for fn in fns]

    def _function_at(self, section: int, insn: int, caller: Function, at: int) -> Function:
        for fn in self.functions.get(section, ()):
            if fn.start == insn:
                return fn
        raise InvalidInputError(f"{self._where(caller, caller.start + at)}: call target "
                                f"{self.elf.sections[section].name}+{insn * INSN:#x} is not the start of a function")

    def link(self, entry: Function, section: ProgSection | None = None) -> LinkedProgram:
        code = bytearray()
        placed: dict[int, int] = {}       # id(function) -> first insn in ``code``
        layout: list[tuple[str, int]] = []
        finfo: list[FuncInfo] = []
        linfo: list[LineInfo] = []
        refs: list[Ref] = []
        poisoned: dict[int, str] = {}

        def append(fn: Function) -> int:
            base = len(code) // INSN
            placed[id(fn)] = base
            layout.append((fn.name, base))
            src = self.code[fn.section.index]
            code.extend(src[fn.start * INSN:(fn.start + fn.count) * INSN])
            delta = base - fn.start
            lo, hi = fn.start, fn.start + fn.count
            sec_name = fn.section.name
            finfo.extend(FuncInfo(r.insn + delta, r.type_id) for r in self.ext.func_info.get(sec_name, ())
                         if lo <= r.insn < hi)
            linfo.extend(LineInfo(r.insn + delta, r.file_name_off, r.line_off, r.line_col)
                         for r in self.ext.line_info.get(sec_name, ()) if lo <= r.insn < hi)
            refs.extend(r.moved(base) for r in fn.refs)
            poisoned.update((i + delta, why) for i, why in self.poison.get(fn.section.index, {}).items()
                            if lo <= i < hi)
            for at, (tsec, tinsn) in sorted(fn.calls.items()):
                callee = self._function_at(tsec, tinsn, fn, at)
                if id(callee) not in placed:
                    append(callee)
                # ld_imm64 of a callback keeps its offset in imm too: relative to the next insn
                set_imm(code, base + at, placed[id(callee)] - (base + at) - 1)
            return base

        append(entry)
        return LinkedProgram(entry.name, section or parse_section(entry.section.name), code, finfo, linfo, refs, layout,
                             poisoned)
