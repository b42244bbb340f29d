"""Read a clang-built BPF object (``.bpf.o``) into plain data: sections, symbols, relocations.

pyelftools does the ELF parsing; this module checks that the file really is a
BPF relocatable object and turns every pyelftools failure into one clear
:class:`~purebpf.errors.InvalidInputError`, so nothing above has to know
pyelftools' exception types or keep the file open.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field

from purebpf.errors import InvalidInputError

EM_BPF = 247
SHF_EXECINSTR = 0x4
SHN_UNDEF = 0

# BPF relocation types (llvm's ELFRelocs/BPF.def)
R_BPF_NONE = 0
R_BPF_64_64 = 1       # ld_imm64: map or global variable, subprogram address
R_BPF_64_ABS64 = 2    # 8-byte data word (.maps initial values)
R_BPF_64_ABS32 = 3    # 4-byte data word (DWARF, BTF)
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10      # call imm: bpf-to-bpf call or kfunc


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    section: int        # section index; 0 for undefined (extern)
    value: int          # offset in the section
    size: int
    type: str           # "FUNC", "OBJECT", "SECTION", "NOTYPE", "FILE"
    bind: str           # "LOCAL", "GLOBAL", "WEAK"
    visibility: str = "DEFAULT"

    @property
    def is_extern(self) -> bool:
        return self.section == SHN_UNDEF and bool(self.name)


@dataclass(frozen=True, slots=True)
class Relocation:
    offset: int         # byte offset in the section the relocations apply to
    type: int
    symbol: Symbol


@dataclass(slots=True)
class Section:
    index: int
    name: str
    type: str           # "SHT_PROGBITS", "SHT_NOBITS"...
    flags: int
    size: int
    data: bytes         # empty for NOBITS (.bss): its bytes are all zero
    relocations: list[Relocation] = field(default_factory=list)

    @property
    def is_code(self) -> bool:
        return self.type == "SHT_PROGBITS" and bool(self.flags & SHF_EXECINSTR)

    @property
    def content(self) -> bytes:
        """The section's bytes, zeros for NOBITS."""
        return bytes(self.size) if self.type == "SHT_NOBITS" else self.data


@dataclass
class ElfFile:
    """Everything of a BPF object that the loader reads, detached from the file."""
    name: str                       # object name as libbpf derives it ("x" for "x.bpf.o")
    path: str
    sections: dict[int, Section]
    symbols: list[Symbol]

    def section(self, name: str) -> Section | None:
        for sec in self.sections.values():
            if sec.name == name:
                return sec
        return None

    def symbols_in(self, section: int, type_: str | None = None) -> list[Symbol]:
        """Named symbols of a section in address order (optionally of one type)."""
        syms = [s for s in self.symbols
                if s.section == section and s.name and (type_ is None or s.type == type_)]
        return sorted(syms, key=lambda s: s.value)


def object_name(path: str) -> str:
    """libbpf's object name: the file's base name up to its first dot."""
    base = os.path.basename(path)
    return base.split(".", 1)[0] or base


def read_elf(source: str | os.PathLike | bytes, name: str | None = None) -> ElfFile:
    """Parse a BPF object from a path or its bytes."""
    if isinstance(source, bytes | bytearray):
        path, data = name or "<bytes>", bytes(source)
    else:
        path = os.fspath(source)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise InvalidInputError(f"{path}: no such BPF object file") from None
        except OSError as exc:
            raise InvalidInputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return _parse(data, path, name or object_name(path))
    except InvalidInputError:
        raise
    except Exception as exc:  # pyelftools/construct raise assorted types on truncated or corrupt input
        raise InvalidInputError(f"{path}: not a valid ELF file ({exc or type(exc).__name__}); "
                                "expected a BPF object built with `clang -target bpf -c`") from None


def _parse(data: bytes, path: str, name: str) -> ElfFile:
    from elftools.elf.elffile import ELFFile

    if data[:4] != b"\x7fELF":
        raise InvalidInputError(f"{path}: not an ELF file; expected a BPF object built with `clang -target bpf -c`")
    elf = ELFFile(io.BytesIO(data))
    machine = elf["e_machine"]
    if machine not in ("EM_BPF", EM_BPF):
        raise InvalidInputError(f"{path}: ELF for {machine}, not BPF; build it with `clang -target bpf -c`")
    if elf.elfclass != 64 or not elf.little_endian:
        raise InvalidInputError(f"{path}: only 64-bit little-endian BPF objects are supported (use -target bpfel)")
    if elf["e_type"] != "ET_REL":
        raise InvalidInputError(f"{path}: ELF type {elf['e_type']}, expected a relocatable object (ET_REL)")

    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        raise InvalidInputError(f"{path}: has no symbol table (.symtab); was it stripped?")
    symbols = [Symbol(s.name, _shndx(s["st_shndx"]), s["st_value"], s["st_size"],
                      s["st_info"]["type"].removeprefix("STT_"), s["st_info"]["bind"].removeprefix("STB_"),
                      s["st_other"]["visibility"].removeprefix("STV_"))
               for s in symtab.iter_symbols()]

    sections: dict[int, Section] = {}
    relsecs = []
    for index, sec in enumerate(elf.iter_sections()):
        stype = sec["sh_type"]
        if stype == "SHT_REL":
            relsecs.append(sec)
            continue
        if stype not in ("SHT_PROGBITS", "SHT_NOBITS"):
            continue
        payload = b"" if stype == "SHT_NOBITS" else sec.data()
        if stype != "SHT_NOBITS" and len(payload) != sec["sh_size"]:
            raise InvalidInputError(f"{path}: section {sec.name} is truncated")
        sections[index] = Section(index, sec.name, stype, sec["sh_flags"], sec["sh_size"], payload)

    for rel in relsecs:
        target = sections.get(rel["sh_info"])
        if target is None:
            continue  # relocations of sections we do not read (DWARF)
        if target.name.startswith(".debug") or target.name in (".BTF", ".BTF.ext"):
            continue
        for r in rel.iter_relocations():
            idx = r["r_info_sym"]
            if idx >= len(symbols):
                raise InvalidInputError(f"{path}: relocation in {target.name} names symbol #{idx}, "
                                        f"but the symbol table has {len(symbols)}")
            target.relocations.append(Relocation(r["r_offset"], r["r_info_type"], symbols[idx]))
    return ElfFile(name, path, sections, symbols)


def _shndx(value: int | str) -> int:
    """Section index of a symbol; the special indices (ABS, COMMON, UNDEF) map to 0."""
    return value if isinstance(value, int) else SHN_UNDEF
