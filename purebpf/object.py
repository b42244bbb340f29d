"""``purebpf.load``: open a clang-built BPF object, create its maps, load its
programs, and attach what the section names say, as libbpf's skeletons do.

    with purebpf.load("counter.bpf.o", rodata={"target_pid": 1234}) as obj:
        obj.attach()
        ...
        print(obj.globals["getpid_count"], dict(obj.maps["counts"].items()))

Everything the object created (maps, programs, BTF, links) is closed by
:meth:`BPFObject.close`; on any error during loading the objects created so far
are closed before the exception leaves.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from purebpf.btf.spec import BTF
from purebpf.elf.btf_fixup import fixup_object_btf
from purebpf.elf.linker import PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, LinkedProgram, set_imm, set_src_reg
from purebpf.elf.maps import LIBBPF_PIN_BY_NAME, MapDef
from purebpf.elf.spec import ObjectSpec, read_object
from purebpf.elf.values import decode_value, encode_value
from purebpf.errors import BPFError, InvalidInputError, NotFoundError, VerifierError
from purebpf.links import Link
from purebpf.maps import Map, MapSpec
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import FD, MapType

# map types the kernel refuses BTF key/value ids for (libbpf drops them too)
_NO_BTF_TYPES = frozenset({
    MapType.PERF_EVENT_ARRAY, MapType.STACK_TRACE, MapType.CGROUP_ARRAY, MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS, MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP,
    MapType.SOCKHASH, MapType.QUEUE, MapType.STACK, MapType.PROG_ARRAY, MapType.RINGBUF, MapType.USER_RINGBUF,
})
_SIZELESS_TYPES = frozenset({MapType.RINGBUF, MapType.USER_RINGBUF})
CORE_POISON = 0xBAD2310
_POISON_CALL = re.compile(r"^(\d+): \(85\) call unknown#" + str(CORE_POISON), re.M)
_ZERO_KEY = b"\0\0\0\0"


class Globals(Mapping[str, Any]):
    """The object's ``.data``/``.bss``/``.rodata`` variables by name, read and
    written through their array maps: ``obj.globals["counter"]`` or
    ``obj.globals.counter``.  ``.rodata`` is frozen after load: read-only."""

    def __init__(self, obj: BPFObject) -> None:
        object.__setattr__(self, "_obj", obj)

    def _find(self, name: str) -> tuple[Map, MapDef, Any]:
        obj = self._obj
        mdef, var = obj.spec.variable(name)
        return obj.maps[mdef.name], mdef, var

    def __getitem__(self, name: str) -> Any:
        try:
            m, _mdef, var = self._find(name)
        except InvalidInputError:
            raise KeyError(name) from None
        raw = m.lookup_raw(_ZERO_KEY)
        return decode_value(self._obj.spec.btf, var.type_id, raw[var.offset:var.offset + var.size])

    def raw(self, name: str) -> bytes:
        m, _mdef, var = self._find(name)
        return m.lookup_raw(_ZERO_KEY)[var.offset:var.offset + var.size]

    def __setitem__(self, name: str, value: Any) -> None:
        m, mdef, var = self._find(name)
        if mdef.readonly:
            raise InvalidInputError(f"'{name}' is in {mdef.section}, frozen after load: set it before load with "
                                    f"purebpf.load(..., rodata={{'{name}': ...}})")
        data = bytearray(m.lookup_raw(_ZERO_KEY))
        data[var.offset:var.offset + var.size] = encode_value(self._obj.spec.btf, var.type_id, var.size, value, name)
        m.update_raw(_ZERO_KEY, bytes(data))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __iter__(self) -> Iterator[str]:
        for mdef in self._obj.spec.maps.values():
            if mdef.is_data:
                yield from mdef.variables

    def __len__(self) -> int:
        return sum(1 for _ in self)


class BPFObject:
    """A loaded BPF object: ``programs`` and ``maps`` by name, ``globals``, ``links``."""

    def __init__(self, spec: ObjectSpec, *, btf: BTF | str | None = None, log_level: int = 0) -> None:
        self.spec = spec
        self.programs: dict[str, Program] = {}
        self.maps: dict[str, Map] = {}
        self.links: list[Link] = []
        self.btf_fd: FD | None = None
        self.globals = Globals(self)
        try:
            self._load(btf if not isinstance(btf, str) else BTF.from_file(btf), log_level)
        except BaseException:
            self.close()
            raise

    # -- loading -----------------------------------------------------------------------------

    def _load(self, target_btf: BTF | None, log_level: int) -> None:
        spec = self.spec
        if spec.btf_raw is not None:
            from purebpf.btf.load import load_btf
            kconfig_offsets = {e.name: e.offset for e in spec.kconfig}
            kconfig_size = sum(m.value_size for m in spec.maps.values() if m.section == ".kconfig")
            raw = fixup_object_btf(spec.btf_raw, spec.btf, spec.elf, kconfig_offsets, kconfig_size)
            self.btf_fd = load_btf(raw)
        for mdef in spec.maps.values():
            self.maps[mdef.name] = self._create_map(mdef)
        for mdef in spec.maps.values():
            if mdef.inner is not None and mdef.init_slots:
                outer = self.maps[mdef.name]
                for slot, inner_name in mdef.init_slots.items():
                    outer.update_raw(struct.pack("<I", slot), struct.pack("<I", self.maps[inner_name].fd))
        linked = spec.link(target_btf)
        for name, lp in linked.items():
            self.programs[name] = self._load_program(lp, log_level)
        for mdef in spec.maps.values():
            if mdef.type == MapType.PROG_ARRAY and mdef.init_slots:
                arr = self.maps[mdef.name]
                for slot, prog_name in mdef.init_slots.items():
                    prog = self.programs.get(prog_name)
                    if prog is None:
                        raise InvalidInputError(f"{spec.path}: prog array '{mdef.name}' slot {slot} names "
                                                f"'{prog_name}', which is not a program of this object")
                    arr.update_raw(struct.pack("<I", slot), struct.pack("<I", prog.fd))

    def _map_spec(self, mdef: MapDef) -> MapSpec:
        with_btf = self.btf_fd is not None and mdef.btf_value_type_id and mdef.type not in _NO_BTF_TYPES
        # a ring buffer's __type(value, struct event) names its record type for readers;
        # the kernel wants no key or value size for it
        sizes = (0, 0) if mdef.type in _SIZELESS_TYPES else (mdef.key_size, mdef.value_size)
        return MapSpec(
            mdef.type, *sizes, mdef.max_entries, name=mdef.name, flags=mdef.flags,
            map_extra=mdef.map_extra, btf_fd=self.btf_fd.raw if with_btf else 0,
            btf_key_type_id=mdef.btf_key_type_id if with_btf else 0,
            btf_value_type_id=mdef.btf_value_type_id if with_btf else 0,
            inner=self._map_spec(mdef.inner) if mdef.inner is not None else None)

    def _create_map(self, mdef: MapDef) -> Map:
        pin_path = None
        if mdef.pinning == LIBBPF_PIN_BY_NAME:
            from purebpf.sys.fs import bpffs
            pin_path = os.path.join(bpffs(), mdef.name)
            if os.path.exists(pin_path):
                return Map.from_pin(pin_path)  # reuse, as libbpf does
        m = Map(self._map_spec(mdef))
        try:
            if mdef.is_data:
                m.update_raw(_ZERO_KEY, mdef.data)
                if mdef.readonly:
                    m.freeze()
            if pin_path is not None:
                m.pin(pin_path)
        except BaseException:
            m.close()
            raise
        return m

    def _load_program(self, lp: LinkedProgram, log_level: int) -> Program:
        spec = self.spec
        self._apply_refs(lp)
        section = lp.section
        attach_btf_id = 0
        target = section.btf_target
        if target is not None:
            attach_btf_id = _attach_btf_id(section, target)
        pspec = ProgramSpec(
            section.prog_type, bytes(lp.code), license=spec.license, name=lp.name,
            expected_attach_type=section.attach_type, attach_btf_id=attach_btf_id, flags=section.flags,
            kern_version=spec.kern_version)
        if self.btf_fd is not None and lp.func_info:
            pspec.prog_btf_fd = self.btf_fd.raw
            pspec.func_info = b"".join(struct.pack("<II", f.insn, f.type_id) for f in lp.func_info)
            pspec.func_info_rec_size = 8
            if lp.line_info:
                pspec.line_info = b"".join(struct.pack("<IIII", li.insn, li.file_name_off, li.line_off, li.line_col)
                                           for li in lp.line_info)
                pspec.line_info_rec_size = 16
        try:
            return Program(pspec, log_level=log_level)
        except VerifierError as exc:
            raise _explain_poison(exc, lp, spec.btf) from None

    def _apply_refs(self, lp: LinkedProgram) -> None:
        code = lp.code
        for ref in lp.refs:
            if ref.kind == "map":
                set_src_reg(code, ref.insn, PSEUDO_MAP_FD)
                set_imm(code, ref.insn, self.maps[ref.target].fd)
            elif ref.kind in ("data", "extern"):
                if ref.kind == "extern":
                    target = next(m for m in self.spec.maps.values() if m.section == ".kconfig").name
                    offset = next(e.offset for e in self.spec.kconfig if e.name == ref.target)
                else:
                    target, offset = ref.target, ref.offset
                set_src_reg(code, ref.insn, PSEUDO_MAP_VALUE)
                set_imm(code, ref.insn, self.maps[target].fd)
                set_imm(code, ref.insn + 1, offset)
            else:
                raise InvalidInputError(f"{self.spec.path}: program '{lp.name}' calls kernel function "
                                        f"'{ref.target}' (kfunc): not supported by purebpf yet")

    # -- attaching ---------------------------------------------------------------------------

    def attach(self, *names: str) -> list[Link]:
        """Attach every program whose section name says where (or only ``names``);
        returns the new links, also kept in :attr:`links` and closed with the object."""
        from purebpf.elf.attach import auto_attach, can_auto_attach
        wanted = names or tuple(self.programs)
        for name in wanted:
            if name not in self.programs:
                raise NotFoundError(f"{self.spec.path} has no program '{name}' "
                                    f"(programs: {', '.join(self.programs)})")
        new: list[Link] = []
        try:
            for name in wanted:
                section = self.spec.programs[name]
                if not can_auto_attach(section):
                    if names:
                        raise InvalidInputError(f"program '{name}' in SEC(\"{section.name}\") cannot be attached "
                                                "from its section name alone; use a purebpf.links class")
                    continue
                link = auto_attach(self.programs[name], section)
                if link is not None:
                    new.append(link)
        except BaseException:
            for link in new:
                link.close()
            raise
        self.links.extend(new)
        return new

    # -- events ------------------------------------------------------------------------------

    def ring_buffer(self, name: str, callback: Callable[[Any], Any], *, event_type: str | int | None = None) -> Any:
        """A reader of ring buffer (or perf buffer) map ``name`` that calls
        ``callback(event)`` with each record decoded by its BTF struct: an
        :class:`~purebpf.elf.records.Event` (``e.pid``, ``e["comm"]``), or
        ``bytes`` when nothing says what the records are.  The struct is
        ``event_type``, else the one the object ties to the map (see
        :mod:`purebpf.elf.record_type`).  Poll it with ``.poll(timeout_ms)``;
        close it (or use ``with``) before the object.

            with obj.ring_buffer("rb", print) as rb:
                rb.poll(1000)
        """
        from purebpf.elf.record_readers import EventReader
        return EventReader(self, name, callback, event_type=event_type)

    def events(self, name: str, *, event_type: str | int | None = None, timeout: float | None = None) -> Iterator[Any]:
        """Decoded records of ring buffer (or perf buffer) map ``name`` as they
        come, until ``timeout`` seconds pass without one (None: never)::

            for e in obj.events("rb", timeout=1.0):
                print(e.pid, e.comm)
        """
        from purebpf.elf.record_readers import iter_events
        return iter_events(self, name, event_type=event_type, timeout=timeout)

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        for link in reversed(self.links):
            try:
                link.close()
            except BPFError:
                pass
        self.links = []
        for obj in (*self.programs.values(), *self.maps.values()):
            obj.close()
        if self.btf_fd is not None:
            self.btf_fd.close()

    def __enter__(self) -> BPFObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<BPFObject {self.spec.name}: {len(self.programs)} programs, {len(self.maps)} maps, "
                f"{len(self.links)} links>")


def _attach_btf_id(section, target: str) -> int:
    from purebpf.btf.kernel import load_kernel
    kinds = ("TYPEDEF",) if section.prefix_is("tp_btf") else ("FUNC",)
    ids = [i for k in kinds for i in load_kernel().find_ids(target, k)]
    if not ids:
        raise NotFoundError(f"SEC(\"{section.name}\"): the kernel has no BTF {kinds[0].lower()} '{target}' to "
                            "attach to (misspelt, or not in this kernel)")
    return ids[0]


def _explain_poison(exc: VerifierError, lp: LinkedProgram, btf: BTF | None) -> VerifierError:
    """A verifier failure at a poisoned CO-RE instruction: name the relocation that failed."""
    m = _POISON_CALL.search(exc.log or "")
    if not m or not lp.poisoned:
        return exc
    insn = int(m[1])
    why = lp.poisoned.get(insn) or next(iter(lp.poisoned.values()))
    source = _source_line(lp, insn, btf) if btf is not None else None
    where = f" (`{source}`)" if source else ""
    return VerifierError(f"program '{lp.name}' uses a CO-RE relocation the kernel cannot satisfy at insn {insn}"
                         f"{where}: {why}", exc.errno, exc.log, source or exc.source_line)


def _source_line(lp: LinkedProgram, insn: int, btf: BTF) -> str | None:
    """The C line of instruction ``insn`` from line_info: ``value = ... @ x.bpf.c:20``."""
    best = None
    for li in lp.line_info:
        if li.insn <= insn and (best is None or li.insn >= best.insn):
            best = li
    if best is None:
        return None
    try:
        text = btf.string(best.line_off).strip()
        fname = os.path.basename(btf.string(best.file_name_off))
    except BPFError:
        return None
    return f"{text} @ {fname}:{best.line}" if text else None


def load(path: str | os.PathLike | bytes, *, rodata: Mapping[str, Any] | None = None,
         data: Mapping[str, Any] | None = None, btf: BTF | str | None = None, log_level: int = 0,
         attach: bool = False) -> BPFObject:
    """Load a BPF object file.

    ``rodata`` sets ``const volatile`` globals (frozen once loaded), ``data`` the
    initial values of ``.data``/``.bss`` globals; ``btf`` is the BTF to CO-RE
    relocate against (a :class:`BTF` or a file; the running kernel's by default);
    ``attach=True`` calls :meth:`BPFObject.attach`.
    """
    spec = read_object(path)
    for name, value in (rodata or {}).items():
        spec.set_initial(name, value, _sections(spec, ".rodata"))
    for name, value in (data or {}).items():
        spec.set_initial(name, value, _sections(spec, ".data", ".bss"))
    obj = BPFObject(spec, btf=btf, log_level=log_level)
    if attach:
        try:
            obj.attach()
        except BaseException:
            obj.close()
            raise
    return obj


def _sections(spec: ObjectSpec, *prefixes: str) -> tuple[str, ...]:
    return tuple(m.section for m in spec.maps.values()
                 if m.is_data and any(m.section == p or m.section.startswith(p + ".") for p in prefixes))
