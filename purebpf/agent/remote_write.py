"""Prometheus remote write (protocol 1.0): the agent's families as a
snappy-compressed protobuf ``WriteRequest`` POSTed to a receiver.

Both encodings are written here rather than pulled in as dependencies: the
``WriteRequest`` schema is four small messages, and snappy's block format
allows a stream of literal chunks, which every decoder accepts.  Payloads are
then larger than a compressing encoder would make them, which matters little
at one push every several seconds.
"""

from __future__ import annotations

import logging
import struct
import time
import urllib.error
import urllib.request

from purebpf.agent.config import RemoteWriteConfig
from purebpf.agent.exposition import format_value
from purebpf.agent.metrics import Family, Histogram

log = logging.getLogger("purebpf.agent")
SNAPPY_CHUNK = 1 << 16


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _label(name: str, value: str) -> bytes:
    return _field(1, _field(1, name.encode()) + _field(2, value.encode()))


def _sample(value: float, ts_ms: int) -> bytes:
    body = _varint(1 << 3 | 1) + struct.pack("<d", value) + _varint(2 << 3 | 0) + _varint(ts_ms & (1 << 64) - 1)
    return _field(2, body)


def series(families: list[Family]) -> list[tuple[dict[str, str], float]]:
    """Every sample as (labels with __name__, value), histograms as their classic series."""
    out: list[tuple[dict[str, str], float]] = []
    for fam in families:
        for key, value in fam.samples.items():
            labels = dict(zip(fam.labels, key, strict=True))
            if isinstance(value, Histogram):
                for bound, count in value.buckets:
                    out.append(({"__name__": fam.name + "_bucket", **labels, "le": format_value(float(bound))},
                                float(count)))
                out.append(({"__name__": fam.name + "_sum", **labels}, float(value.sum)))
                out.append(({"__name__": fam.name + "_count", **labels}, float(value.count)))
            else:
                name = fam.name + ("_total" if fam.kind == "counter" else "")
                out.append(({"__name__": name, **labels}, float(value)))
    return out


def write_request(samples: list[tuple[dict[str, str], float]], ts_ms: int) -> bytes:
    parts = []
    for labels, value in samples:
        body = b"".join(_label(k, labels[k]) for k in sorted(labels)) + _sample(value, ts_ms)
        parts.append(_field(1, body))
    return b"".join(parts)


def snappy_literal(data: bytes) -> bytes:
    """Snappy block format made only of literal elements (valid, uncompressed)."""
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), SNAPPY_CHUNK):
        chunk = data[i:i + SNAPPY_CHUNK]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 1 << 8:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + n.to_bytes(2, "little")
        out += chunk
    return bytes(out)


class RemoteWriter:
    def __init__(self, config: RemoteWriteConfig) -> None:
        self.config = config
        self.sent_samples = 0
        self.failures = 0

    def push(self, families: list[Family]) -> bool:
        samples = series(families)
        body = snappy_literal(write_request(samples, int(time.time() * 1000)))
        req = urllib.request.Request(self.config.url, data=body, method="POST", headers={
            "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "purebpf-agent"})
        try:
            with urllib.request.urlopen(req, timeout=self.config.timeout) as r:
                r.read()
        except (urllib.error.URLError, OSError) as exc:
            self.failures += 1
            detail = exc.read().decode(errors="replace").strip() if isinstance(exc, urllib.error.HTTPError) else exc
            log.warning("remote write to %s failed: %s", self.config.url, detail)
            return False
        self.sent_samples += len(samples)
        return True
