"""Histogram maps: recognising them and the libbpf-tools print layout."""

from __future__ import annotations

import pytest

from purebpf.elf import read_object
from purebpf.errors import InvalidInputError
from purebpf.runner.hist import hist_layout, linear_lines, log2_lines, require_layout


def test_layouts(bpf_objects):
    spec = read_object(bpf_objects["writehist"])
    per_key = hist_layout(spec.btf, spec.maps["hists"])
    assert (per_key.per_key, per_key.offset, per_key.count, per_key.elem.size) == (True, 0, 32, 4)
    buckets = hist_layout(spec.btf, spec.maps["buckets"])
    assert (buckets.per_key, buckets.elem.size) == (False, 8)
    spec = read_object(bpf_objects["options"])
    with pytest.raises(InvalidInputError, match="map 'configs' is not a histogram"):
        require_layout(spec.btf, spec.maps["configs"])


def test_log2_layout():
    assert log2_lines([1, 0, 4, 2], "usecs") == [
        "     usecs               : count    distribution",
        "         0 -> 1          : 1        |**********                              |",
        "         2 -> 3          : 0        |                                        |",
        "         4 -> 7          : 4        |****************************************|",
        "         8 -> 15         : 2        |********************                    |",
    ]
    assert log2_lines([0, 0]) == []
    wide = log2_lines([0] * 40 + [1])
    assert wide[-1].startswith(f"{1 << 40:>20} -> {(1 << 41) - 1:<20} : 1 ")
    assert len(wide[-1].split("|")[1]) == 20


def test_linear_layout():
    assert linear_lines([0, 3]) == [
        "          value : count    distribution",
        "              0 : 0        |                                        |",
        "              1 : 3        |****************************************|",
    ]
