"""libbpf-compatible reading of clang-built BPF objects (``.bpf.o``).

``read_object`` parses a file into an :class:`ObjectSpec` (sections, maps,
global data, relocations, SEC() meanings) without touching the kernel;
``purebpf.load`` turns one into loaded maps and programs.
"""

from purebpf.elf.sections import SECTION_DEFS, ProgSection, SectionDef, known_prefixes, parse_section
from purebpf.elf.spec import ObjectSpec, read_object

__all__ = ["SECTION_DEFS", "ObjectSpec", "ProgSection", "SectionDef", "known_prefixes", "parse_section",
           "read_object"]
