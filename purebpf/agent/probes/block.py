"""Block I/O: request latency (issue to completion), requests and bytes, by
device and operation (``block:block_rq_issue`` / ``block_rq_complete``).

Filters apply to the task issuing the request (often a kernel worker for
writeback, so filtered block metrics show only direct I/O of the process).
"""

from __future__ import annotations

from functools import lru_cache

from purebpf.agent.filters import guard
from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import BpftraceProbe

MINOR_BITS = 20  # the kernel's internal dev_t: major << 20 | minor


@lru_cache(maxsize=256)
def device_name(dev: int) -> str:
    major, minor = dev >> MINOR_BITS, dev & ((1 << MINOR_BITS) - 1)
    try:
        with open(f"/sys/dev/block/{major}:{minor}/uevent") as f:
            for line in f:
                if line.startswith("DEVNAME="):
                    return line.strip().split("=", 1)[1]
    except OSError:
        pass
    return f"{major}:{minor}"


def operation(rwbs: str) -> str:
    """read, write, discard, flush or other from the kernel's rwbs flags (R, W, D, F, N...)."""
    for letter, op in (("D", "discard"), ("W", "write"), ("R", "read")):
        if letter in rwbs:
            return op
    return "flush" if "F" in rwbs else "other"


class BlockProbe(BpftraceProbe):
    name = "block"
    help = "block I/O: request latency histogram, requests and bytes, by device and operation"
    metrics = {
        "purebpf_block_requests": "Block requests issued to a device, by device and operation.",
        "purebpf_block_bytes": "Bytes of block requests issued to a device, by device and operation.",
        "purebpf_block_latency_seconds": "Time from issue to completion of block requests, by device and operation.",
    }

    object_maps = frozenset({"@start"})

    def source(self) -> str:
        return f"""
tracepoint:block:block_rq_issue {guard(self.filters)} {{
  @start[args->dev, args->sector] = nsecs;
  @reqs[args->dev, args->rwbs] = count();
  @bytes[args->dev, args->rwbs] = sum(args->bytes);
}}
tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {{
  $d = nsecs - @start[args->dev, args->sector];
  delete(@start[args->dev, args->sector]);
  @lat[args->dev, args->rwbs] = hist($d);
  @lat_ns[args->dev, args->rwbs] = sum($d);
}}
"""

    def families(self) -> list[Family]:
        labels = ("device", "op")

        def label_of(k: tuple) -> tuple:
            return device_name(k[0]), operation(k[1])
        return [
            self.counter_family("purebpf_block_requests", labels, "@reqs", label_of),
            self.counter_family("purebpf_block_bytes", labels, "@bytes", label_of),
            self.histogram_family("purebpf_block_latency_seconds", labels, "@lat", "@lat_ns", label_of),
        ]



