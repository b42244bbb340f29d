"""eunomia-bpf packages (``package.json``): a BPF object and its description
in one self-contained JSON file, so one file runs anywhere.

The format, as eunomia-bpf documents it::

    {"bpf_object": base64 of the zlib-compressed ELF object,
     "bpf_object_size": size of the ELF in bytes,
     "meta": {"export_types": [{"name", "members": [{"name", "type"}], "size", "type_id"}],
              "bpf_skel": {"obj_name", "data_sections": [{"name", "variables": [{"name", "type", "value"?}]}],
                           "maps": [{"name", "ident", "mmaped", "sample"?: {"interval", "type", "unit",
                                                                            "clear_map"}}],
                           "progs": [{"name", "attach", "link"}], "doc"?: {...}},
              "perf_buffer_pages", "perf_buffer_time_ms", "poll_timeout_ms", "debug_verbose", "print_header"}}

``export_types`` names the struct the object's ring buffer / perf buffer
records are (eunomia allows one); a variable's ``value`` is its initial value
and its optional ``cmdarg`` (``long``, ``short``, ``default``, ``help``) shapes
its option; a map's ``sample`` asks for it to be printed every ``interval`` ms
as a ``log2_hist``, ``linear_hist`` or ``default_kv`` table.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

from purebpf.elf.ctype import c_type_name
from purebpf.elf.maps import MapDef
from purebpf.elf.spec import ObjectSpec, read_object
from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.sys.constants import MapFlags, MapType

DEFAULT_SAMPLE_INTERVAL_MS = 1000
_META_DEFAULTS = {"perf_buffer_pages": 64, "perf_buffer_time_ms": 10, "poll_timeout_ms": 100,
                  "debug_verbose": False, "print_header": True}


@dataclass
class Sample:
    """A map to print at an interval (``meta.bpf_skel.maps[].sample``)."""
    map_name: str
    interval: float          # seconds
    type: str = "log2_hist"  # log2_hist, linear_hist, default_kv
    unit: str = "(unit)"
    clear_map: bool = False


@dataclass
class Package:
    """A package read from disk: the ELF bytes and eunomia's meta."""
    path: str
    elf: bytes
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def skel(self) -> dict[str, Any]:
        return self.meta.get("bpf_skel") or {}

    @property
    def obj_name(self) -> str:
        return str(self.skel.get("obj_name") or os.path.basename(self.path).split(".", 1)[0])

    @property
    def export_type(self) -> str | None:
        types = self.meta.get("export_types") or []
        return str(types[0]["name"]) if types and isinstance(types[0], dict) and types[0].get("name") else None

    def variables(self) -> list[dict[str, Any]]:
        return [v for sec in self.skel.get("data_sections") or [] for v in sec.get("variables") or []
                if isinstance(v, dict) and "name" in v]

    def samples(self) -> list[Sample]:
        out = []
        for m in self.skel.get("maps") or []:
            sample = m.get("sample") if isinstance(m, dict) else None
            if isinstance(sample, dict):
                out.append(Sample(str(m.get("name")), float(sample.get("interval", DEFAULT_SAMPLE_INTERVAL_MS)) / 1000,
                                  str(sample.get("type", "default_kv")), str(sample.get("unit", "(unit)")),
                                  bool(sample.get("clear_map", False))))
        return out

    def description(self) -> str | None:
        doc = self.skel.get("doc")
        if not isinstance(doc, dict):
            return None
        parts = [str(doc[k]) for k in ("brief", "description", "details") if doc.get(k)]
        return "\n".join(parts) or None

    def read_object(self) -> ObjectSpec:
        return read_object(self.elf, name=self.obj_name)


def looks_like_package(path: str) -> bool:
    """A ``.json`` file, or a file whose first non-blank byte opens a JSON object."""
    if path.endswith(".json"):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
    except OSError:
        return False
    return head[:1] == b"{"


def read_package(path: str) -> Package:
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such package file") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: not valid JSON ({exc}); expected an eunomia-bpf package.json") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("bpf_object"), str):
        raise InvalidInputError(f"{path}: not an eunomia-bpf package: no \"bpf_object\" string (base64 of the "
                                "zlib-compressed ELF); a meta-only skeleton json needs its .bpf.o")
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    try:
        elf = zlib.decompress(base64.b64decode(doc["bpf_object"], validate=True))
    except (binascii.Error, ValueError):
        raise InvalidInputError(f"{path}: \"bpf_object\" is not valid base64") from None
    except zlib.error as exc:
        raise InvalidInputError(f"{path}: \"bpf_object\" is not zlib-compressed data ({exc})") from None
    size = doc.get("bpf_object_size")
    if isinstance(size, int) and size != len(elf):
        raise InvalidInputError(f"{path}: \"bpf_object_size\" says {size} bytes but the object has {len(elf)}; "
                                "the package is damaged")
    return Package(path, elf, meta)


# -- writing -------------------------------------------------------------------------------


def build_package(elf: bytes, spec: ObjectSpec, *, samples: list[Sample] | None = None,
                  event_type: str | None = None, doc: dict[str, str] | None = None) -> dict[str, Any]:
    """The package document for object bytes ``elf`` (``spec`` read from them)."""
    return {
        "bpf_object": base64.b64encode(zlib.compress(elf, 9)).decode(),
        "bpf_object_size": len(elf),
        "meta": build_meta(spec, samples=samples, event_type=event_type, doc=doc),
    }


def build_meta(spec: ObjectSpec, *, samples: list[Sample] | None = None, event_type: str | None = None,
               doc: dict[str, str] | None = None) -> dict[str, Any]:
    from purebpf.elf.attach import can_auto_attach
    from purebpf.runner.hist import hist_layout

    by_map = {s.map_name: s for s in samples or []}
    for name in by_map:
        if name not in spec.maps:
            raise NotFoundError(f"{spec.path} has no map '{name}' to sample (maps: {', '.join(spec.maps)})")
    maps = []
    for mdef in spec.maps.values():
        entry: dict[str, Any] = {"name": mdef.name, "ident": _ident(mdef),
                                 "mmaped": bool(mdef.flags & MapFlags.MMAPABLE)}
        sample = by_map.get(mdef.name)
        if sample is None and _is_slots_hist(spec, mdef, hist_layout):
            sample = Sample(mdef.name, DEFAULT_SAMPLE_INTERVAL_MS / 1000)
        if sample is not None:
            entry["sample"] = {"interval": int(sample.interval * 1000), "type": sample.type, "unit": sample.unit,
                               "clear_map": sample.clear_map}
        maps.append(entry)
    skel: dict[str, Any] = {
        "obj_name": spec.name,
        "data_sections": _data_sections(spec),
        "maps": maps,
        "progs": [{"name": name, "attach": section.name, "link": can_auto_attach(section)}
                  for name, section in spec.programs.items()],
    }
    if doc:
        skel["doc"] = doc
    return {"export_types": _export_types(spec, event_type), "bpf_skel": skel, **_META_DEFAULTS}


def _ident(mdef: MapDef) -> str:
    """eunomia's ident: the C name; ``rodata``/``bss``/``data_extra`` for global data."""
    if mdef.is_data:
        return mdef.section.lstrip(".").replace(".", "_")
    return mdef.name


def _is_slots_hist(spec: ObjectSpec, mdef: MapDef, hist_layout) -> bool:
    layout = hist_layout(spec.btf, mdef) if not mdef.is_data else None
    return layout is not None and layout.per_key


def _data_sections(spec: ObjectSpec) -> list[dict[str, Any]]:
    from purebpf.elf.values import decode_value
    btf = spec.btf
    out = []
    for mdef in spec.maps.values():
        if not mdef.is_data or mdef.section == ".kconfig" or btf is None:
            continue
        variables = []
        for var in sorted(mdef.variables.values(), key=lambda v: v.offset):
            if not var.type_id or var.static:
                continue
            entry: dict[str, Any] = {"name": var.name, "type": c_type_name(btf, var.type_id)}
            value = decode_value(btf, var.type_id, mdef.data[var.offset:var.offset + var.size])
            if isinstance(value, bool | int | float | str) and value not in (0, "", False):
                entry["value"] = value
            variables.append(entry)
        out.append({"name": mdef.section, "variables": variables})
    return out


def _export_types(spec: ObjectSpec, event_type: str | None) -> list[dict[str, Any]]:
    from purebpf.btf import types as T
    from purebpf.elf.record_type import record_type

    btf = spec.btf
    if btf is None:
        return []
    ids: list[int] = []
    event_maps = [m.name for m in spec.maps.values() if m.type in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY)]
    for name in event_maps or ([None] if event_type else []):
        tid = record_type(spec, name, event_type) if name else record_type(spec, "", event_type)
        if tid is not None and tid not in ids:
            ids.append(tid)
    out = []
    for tid in ids[:1]:  # eunomia reads one exported type
        t = btf.resolve(tid)
        members = t.members if isinstance(t, T.Composite) else ()
        out.append({"name": t.name, "members": [{"name": m.name, "type": c_type_name(btf, m.type)} for m in members],
                    "size": btf.sizeof(tid), "type_id": t.id})
    return out


def write_package(obj_path: str, out_path: str, **kwargs: Any) -> dict[str, Any]:
    """Read ``obj_path``, write its package to ``out_path`` (``-``: stdout), return the document."""
    spec = read_object(obj_path)  # checks it is a BPF object, with a clear message if not
    with open(obj_path, "rb") as f:
        elf = f.read()
    document = build_package(elf, spec, **kwargs)
    text = json.dumps(document)
    if out_path == "-":
        import sys
        sys.stdout.write(text + "\n")
    else:
        tmp = out_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out_path)
    return document
