"""Every ctypes attr/info structure against C: offsetof() and sizeof() of each
field, compiled by gcc from two sources of truth:

* the installed uapi headers (<linux/bpf.h>, <linux/perf_event.h>), and
* the running kernel's BTF rendered as C (vmlinux.h), which also knows fields
  newer than the headers.

Fields a header does not have are left out (gcc names them; we drop those lines
and compile again).  Padding fields (leading ``_``) and bit-field words are skipped.
"""

from __future__ import annotations

import ctypes
import platform
import re
import shutil
import subprocess

import pytest

from purebpf.sys import attrs

A = "union bpf_attr"
# class -> (C type, prefix of the member inside that type, {our name: C member, None = skip,
# a tuple = alternatives across kernel versions, whichever the header has})
LAYOUTS: dict[type, tuple[str, str, dict[str, str | tuple[str, ...] | None]]] = {
    attrs.MapCreateAttr: (A, "", {}),
    attrs.MapElemAttr: (A, "", {}),
    attrs.MapBatchAttr: (A, "batch.", {}),
    attrs.ProgLoadAttr: (A, "", {}),
    attrs.ObjPinAttr: (A, "", {}),
    attrs.ProgAttachAttr: (A, "", {}),
    attrs.ProgTestRunAttr: (A, "test.", {}),
    attrs.GetIdAttr: (A, "", {}),
    attrs.ObjInfoAttr: (A, "info.", {}),
    attrs.BtfLoadAttr: (A, "", {}),
    attrs.RawTracepointOpenAttr: (A, "raw_tracepoint.", {}),
    attrs.LinkCreateAttr: (A, "link_create.", {
        "u32_0": "target_btf_id", "u32_1": None, "u64_1": "tracing.cookie", "u64_2": None, "u64_3": None,
        "u64_4": None}),
    attrs.LinkCreateMultiAttr: (A, "link_create.", {
        "multi_flags": "kprobe_multi.flags", "cnt": "kprobe_multi.cnt", "syms": "kprobe_multi.syms",
        "addrs": "kprobe_multi.addrs", "cookies": "kprobe_multi.cookies"}),
    attrs.LinkCreateUprobeMultiAttr: (A, "link_create.", {
        "path": "uprobe_multi.path", "offsets": "uprobe_multi.offsets",
        "ref_ctr_offsets": "uprobe_multi.ref_ctr_offsets", "cookies": "uprobe_multi.cookies",
        "cnt": "uprobe_multi.cnt", "multi_flags": "uprobe_multi.flags", "pid": "uprobe_multi.pid"}),
    attrs.LinkUpdateAttr: (A, "link_update.", {}),
    attrs.LinkDetachAttr: (A, "link_detach.", {}),
    attrs.EnableStatsAttr: (A, "enable_stats.", {}),
    attrs.MapFdAttr: (A, "", {}),
    attrs.IterCreateAttr: (A, "iter_create.", {}),
    attrs.ProgQueryAttr: (A, "query.", {}),
    attrs.ProgInfo: ("struct bpf_prog_info", "", {"gpl_compatible": None}),  # a bit-field in C
    attrs.MapInfo: ("struct bpf_map_info", "", {}),
    attrs.LinkInfo: ("struct bpf_link_info", "", {"extra": "raw_tracepoint"}),
    attrs.BtfInfo: ("struct bpf_btf_info", "", {}),
    attrs.PerfEventAttr: ("struct perf_event_attr", "", {"flags": None, "_reserved_2": "__reserved_2",
                                                         "_reserved_3": ("__reserved_3", "aux_action")}),
}
# members whose C size differs from ours on purpose (we read a union member through a wider view)
SIZE_EXEMPT = {("LinkInfo", "extra")}


def fields() -> list[tuple[str, str, str, str, int, int]]:
    """(class, field, C type, C member, our offset, our size) for every checked field."""
    rows = []
    for cls, (c_type, prefix, renames) in LAYOUTS.items():
        for name, *_ in cls._fields_:
            members = renames.get(name, name)
            if members is None or (name.startswith("_") and name not in renames):
                continue
            desc = getattr(cls, name)
            for member in (members,) if isinstance(members, str) else members:
                rows.append((cls.__name__, name, c_type, prefix + member, desc.offset, desc.size))
    return rows


def c_program(rows, include: str) -> list[str]:
    lines = [*include.splitlines(), "int printf(const char *fmt, ...);", "int main(void) {"]
    for cls, name, c_type, member, _, _ in rows:
        lines.append(f'  printf("{cls} {name} %lu %lu\\n", (unsigned long)__builtin_offsetof({c_type}, {member}), '
                     f"(unsigned long)sizeof((({c_type} *)0)->{member}));")
    lines += ["  return 0;", "}"]
    return lines


def measure(rows, include: str, workdir) -> dict[tuple[str, str], tuple[int, int]]:
    """Compile and run; drop the lines gcc rejects (fields this header lacks) and retry."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to measure the C layouts")
    src, exe = workdir / "layout.c", workdir / "layout"
    lines = c_program(rows, include)
    for _ in range(4):
        src.write_text("\n".join(lines) + "\n")
        out = subprocess.run(["gcc", "-w", "-o", str(exe), str(src)], capture_output=True, text=True, timeout=120)
        if out.returncode == 0:
            break
        bad = {int(n) for n in re.findall(rf"{re.escape(str(src))}:(\d+):\d+: error", out.stderr)}
        bad = {n for n in bad if lines[n - 1].startswith("  printf")}
        assert bad, out.stderr[-2000:]
        lines = [line for i, line in enumerate(lines, 1) if i not in bad]
    else:
        pytest.fail(f"could not compile the layout probe: {out.stderr[-2000:]}")
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    result = {}
    for line in run.stdout.splitlines():
        cls, name, off, size = line.split()
        result[(cls, name)] = (int(off), int(size))
    return result


def check(rows, measured) -> list[str]:
    wrong = []
    for cls, name, _, member, off, size in rows:
        if (cls, name) not in measured:
            continue
        c_off, c_size = measured[(cls, name)]
        if c_off != off or (c_size != size and (cls, name) not in SIZE_EXEMPT):
            wrong.append(f"{cls}.{name}: ours offset {off} size {size}, C {member} offset {c_off} size {c_size}")
    return wrong


def test_layouts_match_uapi_headers(tmp_path):
    rows = fields()
    measured = measure(rows, "#include <linux/bpf.h>\n#include <linux/perf_event.h>", tmp_path)
    assert len(measured) > 0.8 * len(rows)  # most fields exist in any 6.x header
    assert not check(rows, measured)


def test_layouts_match_running_kernel_btf(tmp_path, vmlinux_h):
    rows = fields()
    measured = measure(rows, f'#include "{vmlinux_h}"', tmp_path)
    missing = sorted({f"{c}.{n}" for c, n, *_ in rows if (c, n) not in measured})
    if kernel_version() >= NEWEST_FIELD_KERNEL:
        assert not missing, f"fields this kernel does not have: {missing}"
    assert len(measured) > 0.8 * len(rows)
    assert not check(rows, measured)


# the newest field in purebpf.sys.attrs (raw_tracepoint.cookie) appeared in Linux 6.10
NEWEST_FIELD_KERNEL = (6, 10)


def kernel_version() -> tuple[int, int]:
    major, minor = platform.release().split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()))


def test_every_attr_class_is_checked():
    classes = {obj for obj in vars(attrs).values()
               if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and obj.__module__ == attrs.__name__
               and not obj.__name__.startswith("_")}
    assert classes == set(LAYOUTS), f"add to LAYOUTS: {sorted(c.__name__ for c in classes - set(LAYOUTS))}"
