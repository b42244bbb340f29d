"""The pieces of exposition that need no kernel: bucket mapping, the
cardinality cap, escaping, content negotiation."""

from __future__ import annotations

from purebpf.agent.exposition import render, wants_openmetrics
from purebpf.agent.metrics import CardinalityCap, Family, Histogram, log2_buckets
from purebpf.agent.remote_write import snappy_literal, write_request


def test_log2_buckets_never_overcount():
    # bpftrace layout: [negative, zero, 1, 2-3, 4-7, 8-15, 16-31]
    counts = [0, 1, 2, 3, 4, 5, 6]
    buckets = log2_buckets(counts, [1, 4, 16], 1)
    # <= 1: zero and one; <= 4: also 2-3 (4-7 is not wholly at or below 4); <= 16: also 4-7 and 8-15
    assert buckets == [(1, 3), (4, 6), (16, 15), (float("inf"), 21)]
    # bucket 11 is [512, 1023] ns: under the 1.024 us bound; bucket 12, [1024, 2047], is not
    assert log2_buckets([0] * 11 + [7, 5], [1024], 1e9) == [(1.024e-06, 7), (float("inf"), 12)]


def test_cap_keeps_first_series_and_folds_the_rest():
    cap = CardinalityCap(3)
    fam = Family("m", "counter", "h", ("comm",), {("a",): 1, ("b",): 2, ("c",): 3})
    out = cap.apply(fam)
    assert out.samples == {("a",): 1, ("b",): 2, ("other",): 3}
    # later: a new label set arrives that sorts first; admitted ones keep their series
    fam = Family("m", "counter", "h", ("comm",), {("0",): 5, ("a",): 2, ("b",): 2, ("c",): 4})
    assert cap.apply(fam).samples == {("a",): 2, ("b",): 2, ("other",): 9}
    assert cap.collapsed == {"m": 2}


def test_text_and_openmetrics_rendering():
    fam = Family("x_events", "counter", 'a "help"\\ line', ("path",), {('/a"b\\c\n',): 3})
    hist = Family("x_seconds", "histogram", "h", (), {(): Histogram([(0.5, 1), (float("inf"), 2)], 1.5, 2)})
    text = render([fam, hist])
    assert '# HELP x_events_total a "help"\\\\ line\n# TYPE x_events_total counter\n' in text
    assert 'x_events_total{path="/a\\"b\\\\c\\n"} 3\n' in text
    assert 'x_seconds_bucket{le="0.5"} 1\nx_seconds_bucket{le="+Inf"} 2\nx_seconds_sum 1.5\nx_seconds_count 2\n' \
        in text
    om = render([fam, hist], openmetrics=True)
    assert "# TYPE x_events counter\n" in om and om.endswith("# EOF\n")


def test_accept_negotiation():
    assert wants_openmetrics("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
    assert not wants_openmetrics("text/plain")
    assert not wants_openmetrics("application/openmetrics-text;q=0")
    assert not wants_openmetrics(None)


def _snappy_decode(data: bytes) -> bytes:
    """Decoder for literal-only snappy blocks, enough to check the encoder."""
    n, shift, i = 0, 0, 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    out = bytearray()
    while i < len(data):
        tag = data[i]
        assert tag & 3 == 0, "only literals expected"
        length = tag >> 2
        i += 1
        if length >= 60:
            extra = length - 59
            length = int.from_bytes(data[i:i + extra], "little")
            i += extra
        out += data[i:i + length + 1]
        i += length + 1
    assert len(out) == n
    return bytes(out)


def test_snappy_literal_round_trip():
    for size in (0, 1, 59, 60, 61, 255, 256, 70000, 200000):
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        assert _snappy_decode(snappy_literal(data)) == data


def test_write_request_encoding():
    body = write_request([({"__name__": "up", "job": "a"}, 1.0)], 1000)
    # TimeSeries(field 1){ Label{__name__=up}, Label{job=a}, Sample{1.0 @ 1000} }
    label1 = b"\x0a\x0e\x0a\x08__name__\x12\x02up"
    label2 = b"\x0a\x08\x0a\x03job\x12\x01a"
    sample = b"\x12\x0c\x09" + bytes.fromhex("000000000000f03f") + b"\x10\xe8\x07"  # double 1.0, varint 1000
    ts = label1 + label2 + sample
    assert body == b"\x0a" + bytes([len(ts)]) + ts
