"""USDT probes of an ELF file: the systemtap ``.note.stapsdt`` notes that
``DTRACE_PROBE*`` / ``STAP_PROBE*`` leave in a binary or library.

Each note (owner "stapsdt", type 3) holds three addresses (the probe site, the
link-time address of ``.stapsdt.base`` and the semaphore, 0 when there is none),
then the provider, the probe name and the argument specs as NUL-terminated
strings.  Addresses are link-time virtual addresses: a prelinked file moved
``.stapsdt.base``, so both the site and the semaphore are shifted by the
difference between the section's real address and the note's.  The uprobe PMU
wants *file offsets*, so both are converted through the PT_LOAD segments.

The argument specs are the x86_64 assembler operands gcc chose, prefixed by
the size (negative: signed): ``-4@%edi``, ``8@-8(%rbp)``, ``4@$5``,
``8@16(%rdx,%rcx,8)``.  They are parsed here into :class:`UsdtArg`, with the
``struct pt_regs`` offsets of the registers named, so a code generator needs
nothing else to read an argument.  Pure: reads files, touches no kernel object.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from purebpf._memo import cache_per_file
from purebpf.errors import InvalidInputError, NotFoundError

NOTE_SECTION = ".note.stapsdt"
BASE_SECTION = ".stapsdt.base"
NOTE_OWNER = "stapsdt"
NOTE_TYPE = 3

# x86_64 struct pt_regs: offset of each 64-bit register
PT_REGS = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56, "r9": 64, "r8": 72,
    "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112, "rip": 128, "rsp": 152,
}
# every register name gcc may print, -> (64-bit register, right shift of the value: 8 for ah..dh)
_LEGACY = {"ax": "rax", "bx": "rbx", "cx": "rcx", "dx": "rdx"}
_INDEXED = {"si": "rsi", "di": "rdi", "bp": "rbp", "sp": "rsp"}


def _register_names() -> dict[str, tuple[str, int]]:
    names: dict[str, tuple[str, int]] = {}
    for short, full in _LEGACY.items():
        names.update({full: (full, 0), "e" + short: (full, 0), short: (full, 0), short[0] + "l": (full, 0),
                      short[0] + "h": (full, 8)})
    for short, full in _INDEXED.items():
        names.update({full: (full, 0), "e" + short: (full, 0), short: (full, 0), short + "l": (full, 0)})
    for n in range(8, 16):
        full = f"r{n}"
        names.update({full: (full, 0), full + "d": (full, 0), full + "w": (full, 0), full + "b": (full, 0),
                      full + "l": (full, 0)})
    names.update({"rip": ("rip", 0), "eip": ("rip", 0)})
    return names


REGISTERS = _register_names()
_MEMORY = re.compile(r"^(?P<disp>[-+]?(?:0x[0-9a-fA-F]+|\d+))?"
                     r"\((?P<base>%\w+)?(?:,(?P<index>%\w+)(?:,(?P<scale>\d+))?)?\)$")


@dataclass(frozen=True)
class UsdtArg:
    """One argument: where its value lives and how wide it is.

    ``kind`` is "reg" (the value is register ``reg`` shifted right by ``shift``),
    "mem" (``size`` bytes at ``reg + offset [+ index * scale]`` of the probed
    process) or "const" (``value``).  ``reg_offset``/``index_offset`` are the
    registers' offsets in ``struct pt_regs``."""
    size: int
    signed: bool
    kind: str
    spec: str
    reg: str = ""
    shift: int = 0
    offset: int = 0
    index: str = ""
    scale: int = 1
    value: int = 0

    @property
    def reg_offset(self) -> int:
        return PT_REGS[self.reg]

    @property
    def index_offset(self) -> int:
        return PT_REGS[self.index]


@dataclass(frozen=True)
class UsdtNote:
    """One probe site.  ``pc``/``semaphore`` are (prelink-adjusted) virtual
    addresses, ``offset``/``semaphore_offset`` their file offsets (0: no semaphore)."""
    provider: str
    name: str
    pc: int
    offset: int
    semaphore: int
    semaphore_offset: int
    arg_spec: str
    args: tuple[UsdtArg, ...]

    @property
    def full_name(self) -> str:
        return f"{self.provider}:{self.name}"


def parse_arg(spec: str) -> UsdtArg:
    """One argument spec (``-4@%edi``, ``8@-8(%rbp)``, ``4@$5``, ``8@16(%rdx,%rcx,8)``)."""
    size_text, at, operand = spec.partition("@")
    if not at:  # very old notes carry no size: a 64-bit value
        size_text, operand = "8", spec
    try:
        size = int(size_text)
    except ValueError:
        raise InvalidInputError(f"bad USDT argument {spec!r}: the size before '@' is not a number") from None
    signed, size = size < 0, abs(size)
    if size not in (1, 2, 4, 8):
        raise InvalidInputError(f"bad USDT argument {spec!r}: size {size} is not 1, 2, 4 or 8")
    if operand.startswith("$"):
        try:
            value = int(operand[1:], 0)
        except ValueError:
            raise InvalidInputError(f"bad USDT argument {spec!r}: constant {operand!r} is not a number") from None
        return UsdtArg(size, signed, "const", spec, value=value)
    if operand.startswith("%"):
        reg, shift = _register(operand, spec)
        return UsdtArg(size, signed, "reg", spec, reg=reg, shift=shift)
    m = _MEMORY.match(operand)
    if m is None:
        raise InvalidInputError(f"unsupported USDT argument {spec!r}: expected %reg, $const or "
                                "disp(%base,%index,scale)")
    if m.group("base") is None:
        raise InvalidInputError(f"unsupported USDT argument {spec!r}: a memory operand without a base register")
    reg, _ = _register(m.group("base"), spec)
    index = _register(m.group("index"), spec)[0] if m.group("index") else ""
    scale = int(m.group("scale") or 1)
    return UsdtArg(size, signed, "mem", spec, reg=reg, offset=int(m.group("disp") or "0", 0), index=index,
                   scale=scale)


def _register(text: str, spec: str) -> tuple[str, int]:
    found = REGISTERS.get(text.lstrip("%"))
    if found is None:
        raise InvalidInputError(f"unsupported USDT argument {spec!r}: unknown register {text!r}")
    return found


def parse_args(text: str) -> tuple[UsdtArg, ...]:
    """A note's whole argument string (specs separated by spaces)."""
    return tuple(parse_arg(s) for s in text.split())


def usdt_notes(path: str | os.PathLike) -> tuple[UsdtNote, ...]:
    """Every USDT probe site of ELF file ``path``, in note order (cached per file version)."""
    try:
        return _usdt_notes(path)
    except FileNotFoundError:
        raise NotFoundError(f"binary {path} does not exist: give the path of an executable or library") from None
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None


@cache_per_file(32)
def _usdt_notes(path: str) -> tuple[UsdtNote, ...]:
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            notes = elf.get_section_by_name(NOTE_SECTION)
            if notes is None:
                return ()
            base = elf.get_section_by_name(BASE_SECTION)
            actual_base = base["sh_addr"] if base is not None else None
            segments = [(s["p_vaddr"], s["p_memsz"], s["p_offset"], s["p_filesz"]) for s in elf.iter_segments()
                        if s["p_type"] == "PT_LOAD"]
            fmt = ("<" if elf.little_endian else ">") + ("QQQ" if elf.elfclass == 64 else "III")
            raw = notes.data()
            out = []
            for owner, ntype, desc in _iter_notes(raw, "<" if elf.little_endian else ">"):
                if owner != NOTE_OWNER or ntype != NOTE_TYPE:
                    continue
                out.append(_note(path, desc, fmt, actual_base, segments))
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    except (ELFError, struct.error) as exc:
        raise InvalidInputError(f"{path} is not a valid ELF file ({exc}); USDT probes live in ELF binaries") from None
    return tuple(out)


def _iter_notes(data: bytes, endian: str):
    """(owner, type, desc) of each note in a note section (4-byte aligned fields)."""
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from(endian + "III", data, pos)
        pos += 12
        owner = data[pos:pos + namesz].rstrip(b"\0").decode(errors="replace")
        pos += (namesz + 3) & ~3
        desc = data[pos:pos + descsz]
        pos += (descsz + 3) & ~3
        yield owner, ntype, desc


def _note(path: str, desc: bytes, fmt: str, actual_base: int | None, segments: list) -> UsdtNote:
    pc, note_base, semaphore = struct.unpack_from(fmt, desc, 0)
    strings = desc[struct.calcsize(fmt):].split(b"\0")
    if len(strings) < 3:
        raise InvalidInputError(f"{path}: a truncated USDT note (at pc {pc:#x})")
    provider, name, arg_text = (s.decode(errors="replace") for s in strings[:3])
    if actual_base is not None and note_base:  # prelink moved the file: shift by as much
        pc += actual_base - note_base
        if semaphore:
            semaphore += actual_base - note_base
    what = f"USDT probe {provider}:{name}"
    offset = _file_offset(path, segments, pc, what)
    sem_offset = _file_offset(path, segments, semaphore, f"the semaphore of {what}") if semaphore else 0
    try:
        args = parse_args(arg_text)
    except InvalidInputError as exc:  # kept: only a program reading that argument fails
        args = (UsdtArg(8, False, "bad", str(exc)),)
    return UsdtNote(provider, name, pc, offset, semaphore, sem_offset, arg_text, args)


def _file_offset(path: str, segments: list, addr: int, what: str) -> int:
    for vaddr, memsz, offset, filesz in segments:
        if vaddr <= addr < vaddr + memsz:
            if addr - vaddr >= filesz:
                raise InvalidInputError(f"{what} in {path} is at {addr:#x}, past the file's contents (in .bss): "
                                        "the kernel cannot find it by file offset")
            return addr - vaddr + offset
    raise InvalidInputError(f"{what} in {path} is at {addr:#x}, in no loadable segment of the file")


__all__ = ["PT_REGS", "REGISTERS", "UsdtArg", "UsdtNote", "parse_arg", "parse_args", "usdt_notes"]
