"""Where a user-space probe lands: which file, and which offset in it.

The uprobe PMU wants a path and a *file offset*, while users think in
function names ("readline" in bash, "malloc" in libc).  This module turns a
binary or library name into a path (``/proc/PID/maps`` when a process is
given, else ``/etc/ld.so.cache``, the standard library directories and
``$PATH``) and a symbol into a file offset through the ELF symbol tables.
Everything here is read at attach time only, with pyelftools; no ``ldconfig``
or other program is run.
"""

from __future__ import annotations

import os
import platform
import shutil
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from purebpf.errors import BPFError, InvalidInputError, NotFoundError, NotSupportedError

LD_SO_CACHE = Path("/etc/ld.so.cache")
_CACHE_MAGIC = b"glibc-ld.so.cache1.1"
_CACHE_HEADER = 48  # magic+version (20), nlibs, len_strings, flags+pad, extension_offset, unused[3]
_CACHE_ENTRY = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap
_FUNC_TYPES = ("STT_FUNC", "STT_GNU_IFUNC", "STT_NOTYPE")


def library_dirs() -> list[Path]:
    """Directories searched for a library not in the loader cache (multiarch first)."""
    triplet = f"{platform.machine()}-linux-gnu"
    names = [f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
             "/usr/local/lib"]
    return [Path(n) for n in names]


# ---- binary and library paths --------------------------------------------------------

def resolve_binary(target: str, pid: int | None = None) -> Path:
    """The file ``target`` names: a path as is; otherwise a library ("c", "libc",
    "libc.so.6") or program ("bash") name, looked up in ``pid``'s mappings first.
    ``ARCHIVE.zip!/member`` names a binary stored uncompressed in a zip archive (as Android's
    APKs hold libraries): it is kept as such, and the probe lands in the archive file."""
    if not isinstance(target, str) or not target or "\0" in target:
        raise InvalidInputError(f"invalid binary {target!r}: expected a path or a library/program name")
    if ARCHIVE_SEPARATOR in target and "/" in target:
        archive_member(target)  # raises if the archive or the member is not there
        return Path(target)
    if "/" in target:
        path = Path(target)
        inside = Path(f"/proc/{pid}/root/{target.lstrip('/')}") if pid is not None and target.startswith("/") else None
        if not path.is_file() and inside is not None and inside.is_file():
            return inside  # the process lives in another mount namespace: its file, seen through its root
        if not path.is_file():
            raise NotFoundError(f"binary {target} does not exist (give an existing file, or a library name "
                                "such as 'c' to search the library path)")
        return path
    if pid is not None:
        mapped = mapped_file(pid, target)
        if mapped is not None:
            return mapped
    lib = find_library(target)
    if lib is not None:
        return lib
    exe = shutil.which(target)
    if exe is not None:
        return Path(exe)
    where = f"mapped by pid {pid}, " if pid is not None else ""
    raise NotFoundError(f"cannot find binary or library '{target}': not {where}in {LD_SO_CACHE}, the library "
                        "directories or $PATH; give its full path")


ARCHIVE_SEPARATOR = "!"


@dataclass(frozen=True)
class ArchiveMember:
    """A file stored (not compressed) in a zip archive: where its bytes start in the archive."""
    archive: str
    name: str
    data_offset: int
    size: int


def archive_member(spec: str | Path) -> ArchiveMember:
    """``ARCHIVE!/member`` (the member's leading ``/`` is optional): the member's place in the archive."""
    import zipfile  # only archives need it

    archive, _, name = str(spec).partition(ARCHIVE_SEPARATOR)
    name = name.lstrip("/")
    if not os.path.isfile(archive):
        raise NotFoundError(f"archive {archive} does not exist")
    try:
        with zipfile.ZipFile(archive) as z:
            info = z.getinfo(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{archive} is not a readable zip archive ({exc})") from None
    except KeyError:
        raise NotFoundError(f"archive {archive} has no member {name!r}") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise NotSupportedError(f"{archive}!/{name} is compressed: uprobes need a member stored uncompressed, "
                                "which the kernel can map as it is")
    with open(archive, "rb") as f:  # the local header's name and extra field lengths may differ from the central's
        f.seek(info.header_offset)
        header = f.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise InvalidInputError(f"{archive}: bad local header for member {name!r}")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    return ArchiveMember(archive, name, info.header_offset + 30 + name_len + extra_len, info.file_size)


def attach_path(path: str | Path) -> str:
    """The file the kernel attaches a uprobe to: the archive of an ``ARCHIVE!/member`` path."""
    text = str(path)
    return text.partition(ARCHIVE_SEPARATOR)[0] if ARCHIVE_SEPARATOR in text else text


def _open_binary(path: str | Path):
    """A binary's bytes as a file object: a file, or a member of an archive."""
    if ARCHIVE_SEPARATOR in str(path):
        import io

        member = archive_member(path)
        with open(member.archive, "rb") as f:
            f.seek(member.data_offset)
            return io.BytesIO(f.read(member.size))
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def _base_offset(path: str | Path) -> int:
    """Where a binary's byte 0 is in the file the kernel maps: past the headers of an archive member."""
    return archive_member(path).data_offset if ARCHIVE_SEPARATOR in str(path) else 0


def _stat_key(path: str | Path) -> tuple[int, int, int]:
    st = os.stat(attach_path(path))
    return st.st_dev, st.st_ino, st.st_mtime_ns


def _name_matches(target: str):
    """A predicate telling whether a file name is library ``target``: "c" and
    "libc" match libc.so.6 (and an old glibc's libc-2.31.so), "libc.so.6" only itself."""
    if ".so" in target:
        return lambda name: name == target or name.startswith(target + ".")
    stem = target if target.startswith("lib") else f"lib{target}"
    return lambda name: (name == target or name.startswith(stem + ".so")
                         or (name.startswith(stem + "-") and name.endswith(".so")))


def mapped_file(pid: int, target: str) -> Path | None:
    """The file named ``target`` (library name or file name) that process ``pid``
    has mapped, seen through the process's root so containers work too."""
    maps = Path(f"/proc/{pid}/maps")
    try:
        lines = maps.read_text().splitlines()
    except FileNotFoundError:
        raise NotFoundError(f"no process with pid {pid}") from None
    except OSError as exc:
        raise NotFoundError(f"cannot read {maps}: {exc.strerror}") from None
    matches = _name_matches(target)
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        path, inode = fields[5], int(fields[4])
        if matches(os.path.basename(path)):
            return _same_file(Path(path), inode) or Path(f"/proc/{pid}/root{path}")
    return None


def _same_file(path: Path, inode: int) -> Path | None:
    try:
        return path if path.stat().st_ino == inode else None
    except OSError:
        return None


def find_library(target: str) -> Path | None:
    """A shared library by name: the loader cache first, then the standard directories."""
    matches = _name_matches(target)
    machine = _own_machine()
    for name, path in ld_cache_entries():
        if matches(name) and _elf_machine(path) == machine:
            return Path(path)
    for d in library_dirs():
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if matches(name) and _elf_machine(d / name) == machine:
                return d / name
    return None


@lru_cache(maxsize=1)
def _ld_cache(mtime_ns: int) -> tuple[tuple[str, str], ...]:
    data = LD_SO_CACHE.read_bytes()
    base = data.find(_CACHE_MAGIC)  # may follow an old-format ("ld.so-1.7.0") cache
    if base < 0 or base + _CACHE_HEADER > len(data):
        return ()
    nlibs = struct.unpack_from("<I", data, base + len(_CACHE_MAGIC))[0]
    out = []
    for i in range(nlibs):
        at = base + _CACHE_HEADER + i * _CACHE_ENTRY.size
        if at + _CACHE_ENTRY.size > len(data):
            break
        _, key, value, _, _ = _CACHE_ENTRY.unpack_from(data, at)  # arch: checked on the file itself
        out.append((_cstr(data, base + key), _cstr(data, base + value)))
    return tuple(out)


def ld_cache_entries() -> tuple[tuple[str, str], ...]:
    """(soname, path) pairs of ``/etc/ld.so.cache`` (glibc's new format), or none."""
    try:
        return _ld_cache(LD_SO_CACHE.stat().st_mtime_ns)
    except OSError:
        return ()


def _cstr(data: bytes, at: int) -> str:
    end = data.find(b"\0", at)
    return data[at:end if end >= 0 else len(data)].decode(errors="replace")


def _elf_machine(path: str | Path) -> int | None:
    """``e_machine`` of an ELF file (None when not ELF), to skip other arches' libraries."""
    try:
        with _open_binary(path) as f:
            head = f.read(20)
    except (OSError, BPFError):
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return struct.unpack_from("<H" if head[5] == 1 else ">H", head, 18)[0]


def is_elf(path: str | Path) -> bool:
    return _elf_machine(path) is not None


@lru_cache(maxsize=1)
def _own_machine() -> int | None:
    return _elf_machine("/proc/self/exe")


# ---- symbols -> file offsets ---------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    offset: int
    executable: bool


@dataclass(frozen=True)
class SymbolTable:
    """What offset resolution needs from one ELF file, read once per file version."""
    path: str
    segments: tuple[Segment, ...]
    symbols: dict[str, tuple[int, bool]]   # name -> (st_value, defined)
    tables: tuple[str, ...]                # which of .symtab / .dynsym exist
    sizes: dict[str, int] = field(default_factory=dict)  # name -> st_size of its definition (0: unknown)
    base: int = 0  # where the ELF file starts in the file mapped (an archive member's data offset)

    def address_to_offset(self, addr: int, what: str) -> int:
        """File offset of virtual address ``addr`` (through the PT_LOAD segment holding it)."""
        for seg in sorted(self.segments, key=lambda s: not s.executable):
            if seg.vaddr <= addr < seg.vaddr + seg.memsz:
                return addr - seg.vaddr + seg.offset + self.base
        raise NotFoundError(f"{what} (address {addr:#x}) is in no loadable segment of {self.path}")


def symbol_table(path: str | Path) -> SymbolTable:
    return _symbol_table(str(path), *_stat_key(path))


@lru_cache(maxsize=16)
def _symbol_table(path: str, dev: int, ino: int, mtime_ns: int) -> SymbolTable:
    try:
        with _open_binary(path) as f:
            elf = ELFFile(f)
            segments = tuple(
                Segment(seg["p_vaddr"], seg["p_memsz"], seg["p_offset"], bool(seg["p_flags"] & 1))
                for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD")
            symbols: dict[str, tuple[int, bool]] = {}
            sizes: dict[str, int] = {}
            tables = []
            for name in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(name)
                if section is None or not hasattr(section, "iter_symbols"):
                    continue
                tables.append(name)
                for sym in section.iter_symbols():
                    if not sym.name or sym["st_info"]["type"] not in _FUNC_TYPES:
                        continue
                    defined = sym["st_shndx"] != "SHN_UNDEF" and sym["st_value"] != 0
                    prev = symbols.get(sym.name)
                    if prev is None or (defined and not prev[1]):  # first definition wins
                        symbols[sym.name] = (sym["st_value"], defined)
                        sizes[sym.name] = sym["st_size"]
    except (ELFError, struct.error) as exc:
        raise InvalidInputError(f"{path} is not a valid ELF file ({exc}); uprobes need an ELF binary") from None
    return SymbolTable(path, segments, symbols, tuple(tables), sizes, _base_offset(path))


def split_symbol(spec: str) -> tuple[str, int]:
    """``"func+0x10"`` -> ``("func", 16)``; ``"func"`` -> ``("func", 0)``."""
    name, plus, off = spec.partition("+")
    if not plus:
        return name, 0
    try:
        return name, int(off, 0)
    except ValueError:
        raise InvalidInputError(f"bad offset in {spec!r}: expected symbol+N (decimal or 0x hex)") from None


def symbol_offset(path: str | Path, symbol: str | int, offset: int = 0) -> int:
    """File offset of ``symbol`` in ELF ``path``: a function name, ``name+N``, or
    an int virtual address (as ``nm`` and ``objdump`` print them); plus ``offset``
    (a probe's offset into the function), which must stay inside the function when
    its size is known."""
    if not Path(attach_path(path)).is_file():
        raise NotFoundError(f"binary {path} does not exist")
    if isinstance(symbol, int) and symbol >= 0 and not is_elf(path):
        return symbol + offset  # a flat binary (raw code mapped by hand): the address is the file offset
    table = symbol_table(path)
    if isinstance(symbol, int):
        if symbol <= 0:
            raise InvalidInputError(f"invalid address {symbol:#x}: expected a positive virtual address")
        return table.address_to_offset(symbol, "address") + offset
    if not isinstance(symbol, str) or not symbol:
        raise InvalidInputError(f"invalid symbol {symbol!r}: expected a function name or an address")
    name, extra = split_symbol(symbol)
    extra += offset
    value, defined = table.symbols.get(name, (0, None))
    if defined is None:
        raise NotFoundError(f"symbol '{name}' not found in {path} ({_tables_hint(table)})")
    if not defined:
        raise NotFoundError(f"symbol '{name}' is not defined in {path}: it is imported from a shared library; "
                            "probe that library instead (e.g. binary 'c' for libc)")
    size = table.sizes.get(name, 0)
    if offset and size and extra >= size:  # a probe's offset (as bpftrace checks it); "name+N" is taken as given
        raise InvalidInputError(f"Offset outside the function bounds ('{name}' size is {size})")
    return table.address_to_offset(value, f"symbol '{name}'") + extra


@dataclass(frozen=True)
class DataSymbol:
    """A variable of an ELF file: its link-time address and size (``uaddr()`` reads it)."""
    address: int
    size: int
    position_independent: bool  # ET_DYN: the address moves with the load base at run time


def data_symbol(path: str | Path, name: str) -> DataSymbol | None:
    """The variable (an STT_OBJECT symbol) ``name`` defined in ELF ``path``, or None."""
    return _data_symbols(str(path), *_stat_key(path))[1].get(name)


def offset_to_address(path: str | Path, offset: int) -> int | None:
    """The link-time virtual address of file offset ``offset`` (through its executable PT_LOAD segment)."""
    table = symbol_table(path)
    offset -= table.base
    for seg in table.segments:
        if seg.executable and seg.offset <= offset < seg.offset + seg.memsz:
            return offset - seg.offset + seg.vaddr
    return None


@lru_cache(maxsize=16)
def _data_symbols(path: str, dev: int, ino: int, mtime_ns: int) -> tuple[bool, dict[str, DataSymbol]]:
    found: dict[str, DataSymbol] = {}
    try:
        with _open_binary(path) as f:
            elf = ELFFile(f)
            pie = elf["e_type"] == "ET_DYN"
            for table in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(table)
                if section is None or not hasattr(section, "iter_symbols"):
                    continue
                for sym in section.iter_symbols():
                    if (sym.name and sym["st_info"]["type"] == "STT_OBJECT" and sym["st_shndx"] != "SHN_UNDEF"
                            and sym.name not in found):
                        found[sym.name] = DataSymbol(sym["st_value"], sym["st_size"], pie)
    except (ELFError, struct.error) as exc:
        raise InvalidInputError(f"{path} is not a valid ELF file ({exc})") from None
    return pie, found


def _tables_hint(table: SymbolTable) -> str:
    if not table.tables:
        return "it has no .symtab or .dynsym: it is fully stripped; probe an address instead"
    if ".symtab" not in table.tables:
        return "it has no .symtab, only .dynsym: is it stripped? static functions are not visible"
    return "not in .symtab or .dynsym; check the name with `nm`"
