"""The pcap files ``skboutput()`` writes: packets as the kernel handed them to
bpf_skb_output, with no link-layer header (LINKTYPE_RAW: the packet starts
with its IP header), as bpftrace writes them.

The kernel stamps each packet with ``bpf_ktime_get_ns`` (monotonic clock);
the file holds wall-clock time, so the offset between the two clocks is read
once, when the file is opened.
"""

from __future__ import annotations

import struct
import time
from typing import BinaryIO

PCAP_MAGIC = 0xA1B23C4D  # nanosecond timestamps
PCAP_VERSION = (2, 4)
LINKTYPE_RAW = 101  # IPv4 or IPv6, chosen by the first nibble of each packet
SNAPLEN = 65535
_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


class PcapWriter:
    """One pcap file, created (truncated) at once so it exists even if no packet comes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: BinaryIO = open(path, "wb")  # noqa: SIM115 - held open for the whole trace
        self.file.write(_HEADER.pack(PCAP_MAGIC, *PCAP_VERSION, 0, 0, SNAPLEN, LINKTYPE_RAW))
        self.file.flush()
        self.wall_minus_mono = time.time_ns() - time.monotonic_ns()

    def write(self, ktime_ns: int, packet: bytes, original_len: int) -> None:
        stamp = ktime_ns + self.wall_minus_mono
        self.file.write(_RECORD.pack(stamp // 1_000_000_000, stamp % 1_000_000_000, len(packet), original_len))
        self.file.write(packet)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class PacketCapture:
    """What ``skboutput()`` calls send: packets from the per-CPU perf ring ``skb_map``, each
    written to the pcap file its call names (one file per path, however many calls name it)."""

    def __init__(self, skb_map, paths: dict[int, str], meta_size: int) -> None:
        from purebpf.events import PerfBuffer

        self.meta_size = meta_size
        self.files: dict[str, PcapWriter] = {}
        self.by_event: dict[int, PcapWriter] = {}
        for ident, path in paths.items():
            if path not in self.files:
                self.files[path] = PcapWriter(path)
            self.by_event[ident] = self.files[path]
        self.ring = PerfBuffer(skb_map, self._on_packet)

    def _on_packet(self, cpu: int, data: bytes) -> None:
        ident, offset, length, ktime = struct.unpack_from("<QQQQ", data)
        packet = data[self.meta_size:self.meta_size + length]
        self.by_event[ident].write(ktime, packet[offset:], len(packet) - min(offset, len(packet)))

    def consume(self) -> None:
        self.ring.consume()

    def close(self) -> None:
        self.ring.close()
        for pcap in self.files.values():
            pcap.close()


def read_pcap(path: str) -> tuple[int, list[tuple[int, bytes]]]:
    """(link type, [(timestamp ns, packet)]) of a nanosecond pcap file: what tests read back."""
    with open(path, "rb") as f:
        data = f.read()
    magic, _, _, _, _, _, linktype = _HEADER.unpack_from(data)
    if magic != PCAP_MAGIC:
        raise ValueError(f"{path} is not a nanosecond pcap file (magic {magic:#x})")
    packets, pos = [], _HEADER.size
    while pos + _RECORD.size <= len(data):
        sec, nsec, incl, _ = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        packets.append((sec * 1_000_000_000 + nsec, data[pos:pos + incl]))
        pos += incl
    return linktype, packets
