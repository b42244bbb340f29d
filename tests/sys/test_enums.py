"""Every enum value purebpf names must equal the running kernel's (read off its BTF)."""

from __future__ import annotations

import re

import pytest

from purebpf.sys import AttachType, Cmd, LinkType, MapType, ProgType

CASES = [
    (MapType, "bpf_map_type", "BPF_MAP_TYPE_"),
    (ProgType, "bpf_prog_type", "BPF_PROG_TYPE_"),
    (AttachType, "bpf_attach_type", "BPF_"),
    (LinkType, "bpf_link_type", "BPF_LINK_TYPE_"),
    (Cmd, "bpf_cmd", "BPF_"),
]


def kernel_enum(text: str, name: str) -> dict[str, int]:
    match = re.search(r"^enum " + name + r" \{\n(.*?)^\};", text, re.S | re.M)
    assert match, f"enum {name} is not in the kernel's BTF"
    return {m[1]: int(m[2]) for m in re.finditer(r"^\t(\w+) = (-?\d+),$", match[1], re.M)}


@pytest.mark.parametrize("enum,c_name,prefix", CASES, ids=[c[1] for c in CASES])
def test_enum_matches_kernel(vmlinux_h, enum, c_name, prefix):
    kernel = kernel_enum(vmlinux_h.read_text(), c_name)
    assert len(kernel) > 5
    by_value = {v: k for k, v in kernel.items() if "MAX_" not in k}  # not the __MAX_BPF_* sentinels
    for member in enum:
        c_member = prefix + member.name
        if c_member in kernel:
            assert kernel[c_member] == member.value, f"{enum.__name__}.{member.name}"
        elif member.value in by_value:
            # the kernel has this value under another name: ours is misspelt or misnumbered
            pytest.fail(f"{enum.__name__}.{member.name}={member.value} is {by_value[member.value]} in the kernel")
        # else: a value newer than this kernel (purebpf supports newer kernels too)


@pytest.mark.parametrize("enum,c_name,prefix", CASES, ids=[c[1] for c in CASES])
def test_no_kernel_value_is_missing(vmlinux_h, enum, c_name, prefix):
    """Values this kernel has that purebpf cannot name (the table needs updating)."""
    kernel = kernel_enum(vmlinux_h.read_text(), c_name)
    ours = {m.value for m in enum}
    missing = {k: v for k, v in kernel.items() if "MAX_" not in k and v not in ours}
    assert not missing
