"""``ObjectSpec``: everything a BPF object file describes, read without touching the kernel.

    spec = read_object("x.bpf.o")
    spec.programs          # {name: ProgSection}
    spec.maps              # {name: MapDef}
    linked = spec.link()   # CO-RE relocated, subprograms appended, refs recorded

Reading checks the file (ELF for BPF, license, known section names) so a bad
object fails before any kernel object exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from purebpf.btf.kinds import Kind
from purebpf.btf.spec import BTF
from purebpf.elf import kconfig
from purebpf.elf.btf_ext import BTFExt, parse_btf_ext
from purebpf.elf.linker import LinkedProgram, Linker
from purebpf.elf.maps import MapDef, btf_maps, data_maps, internal_map_name, is_data_section, legacy_maps
from purebpf.elf.reader import ElfFile, read_elf
from purebpf.elf.sections import ProgSection, parse_section
from purebpf.elf.values import encode_value
from purebpf.errors import InvalidInputError
from purebpf.sys.constants import MapFlags, MapType


@dataclass
class ObjectSpec:
    path: str
    name: str
    elf: ElfFile
    license: str
    kern_version: int
    btf: BTF | None
    btf_raw: bytes | None
    ext: BTFExt | None
    maps: dict[str, MapDef]
    programs: dict[str, ProgSection]
    kconfig: list[kconfig.KconfigExtern] = field(default_factory=list)

    # -- changing initial values before load ----------------------------------------------------

    def data_map(self, section: str) -> MapDef | None:
        return next((m for m in self.maps.values() if m.section == section and m.is_data), None)

    def variable(self, name: str, sections: tuple[str, ...] | None = None) -> tuple[MapDef, Any]:
        """The data map and :class:`Variable` of global ``name`` (optionally only in ``sections``)."""
        found = [(m, m.variables[name]) for m in self.maps.values()
                 if m.is_data and name in m.variables and (sections is None or m.section in sections)]
        if not found:
            where = sections or tuple(m.section for m in self.maps.values() if m.is_data)
            known = sorted(v for m in self.maps.values() if m.is_data and (sections is None or m.section in sections)
                           for v in m.variables)
            raise InvalidInputError(f"{self.path}: no global variable '{name}' in {', '.join(where) or 'any section'}"
                                    f" (known: {', '.join(known) or 'none'})")
        return found[0]

    def set_initial(self, name: str, value: Any, sections: tuple[str, ...] | None = None) -> None:
        """Set a global's initial value (``const volatile`` options in .rodata, .data, .bss)."""
        mdef, var = self.variable(name, sections)
        raw = encode_value(self.btf, var.type_id, var.size, value, name)
        data = bytearray(mdef.data)
        data[var.offset:var.offset + var.size] = raw
        mdef.data = bytes(data)

    # -- linking -----------------------------------------------------------------------------

    def code_sections(self) -> dict[int, bytearray]:
        return {i: bytearray(s.data) for i, s in self.elf.sections.items() if s.is_code}

    def link(self, target_btf: BTF | None = None) -> dict[str, LinkedProgram]:
        """Every entry program, CO-RE relocated against ``target_btf`` (the running
        kernel's when None and the object has CO-RE relocations)."""
        code = self.code_sections()
        poison: dict[int, dict[int, str]] = {}
        if self.ext is not None and self.ext.core_relos:
            from purebpf.btf.core import relocate_section
            if target_btf is None:
                target_btf = BTF.load_kernel()
            for index, sec in self.elf.sections.items():
                relos = self.ext.core_relos.get(sec.name)
                if relos and index in code:
                    poison[index] = relocate_section(code[index], relos, self.btf, target_btf, sec.name)
        linker = Linker(self.elf, self.ext, list(self.maps.values()), code,
                        {e.name for e in self.kconfig}, poison)
        return {fn.name: linker.link(fn, self.programs.get(fn.name)) for fn in linker.entry_functions()}


def read_object(source: str | os.PathLike | bytes, name: str | None = None) -> ObjectSpec:
    elf = read_elf(source, name)
    path = elf.path
    lic = elf.section("license")
    if lic is None:
        raise InvalidInputError(f"{path}: has no license section; add `char LICENSE[] SEC(\"license\") = \"GPL\";` "
                                "(GPL-only helpers need a GPL-compatible license)")
    license_text = lic.content.split(b"\0", 1)[0].decode(errors="replace")
    ver = elf.section("version")
    kern_version = int.from_bytes(ver.content[:4], "little") if ver is not None and ver.size >= 4 else 0

    btf = btf_raw = ext = None
    btf_sec = elf.section(".BTF")
    if btf_sec is not None:
        btf_raw = btf_sec.content
        btf = BTF.from_bytes(btf_raw, name=f"{path}:.BTF")
        ext_sec = elf.section(".BTF.ext")
        if ext_sec is not None:
            ext = parse_btf_ext(ext_sec.content, btf.string)

    programs: dict[str, ProgSection] = {}
    for index, sec in sorted(elf.sections.items()):
        if not sec.is_code or sec.name == ".text" or sec.size == 0:
            continue
        funcs = elf.symbols_in(index, "FUNC") or []
        names = [s.name for s in funcs] or [sec.name.replace("/", "_")]
        try:
            prog_section = parse_section(sec.name)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{path}: program '{names[0]}': {exc}") from None
        for fname in names:
            if fname in programs:
                raise InvalidInputError(f"{path}: two programs are named '{fname}'")
            programs[fname] = prog_section

    maps: dict[str, MapDef] = {}
    for mdef in [*legacy_maps(elf), *btf_maps(elf, btf), *data_maps(elf, btf)]:
        if mdef.name in maps:
            raise InvalidInputError(f"{path}: two maps are named '{mdef.name}'")
        maps[mdef.name] = mdef

    externs = _kconfig_externs(elf, btf)
    if externs:
        data = kconfig.build_data(btf, externs)
        kmap = MapDef(name=internal_map_name(elf.name, ".kconfig"), type=MapType.ARRAY, key_size=4,
                      value_size=len(data), max_entries=1, flags=int(MapFlags.RDONLY_PROG | MapFlags.MMAPABLE),
                      btf_value_type_id=btf.find_ids(".kconfig", Kind.DATASEC)[0], section=".kconfig",
                      symbol_size=len(data), data=data, readonly=True)
        maps[kmap.name] = kmap
    _check_externs(elf, {e.name for e in externs})
    return ObjectSpec(path, elf.name, elf, license_text, kern_version, btf, btf_raw, ext, maps, programs, externs)


def _kconfig_externs(elf: ElfFile, btf: BTF | None) -> list[kconfig.KconfigExtern]:
    if btf is None or not btf.find_ids(".kconfig", Kind.DATASEC):
        return []
    weak = {s.name for s in elf.symbols if s.is_extern and s.bind == "WEAK"}
    return kconfig.collect(btf, weak)


def _check_externs(elf: ElfFile, kconfig_names: set[str]) -> None:
    """Externs other than .kconfig ones (``__ksym``, kfuncs) are not resolved yet: say so up front."""
    for sym in elf.symbols:
        if sym.is_extern and sym.type != "FILE" and sym.name not in kconfig_names:
            kind = "kfunc" if sym.type == "FUNC" else "__ksym variable"
            raise InvalidInputError(f"{elf.path}: extern {kind} '{sym.name}' is not supported by purebpf yet "
                                    "(only .kconfig externs are)")


__all__ = ["ObjectSpec", "read_object", "is_data_section"]
