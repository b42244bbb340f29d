"""Block devices by number and name (what /proc/partitions lists), and the
request flags of this kernel (read from its BTF enums), for the bio* tools."""

from __future__ import annotations

from functools import cache

from purebpf.errors import NotFoundError

MINOR_BITS = 20  # the kernel's dev_t: major << 20 | minor


def kernel_dev(major: int, minor: int) -> int:
    return major << MINOR_BITS | minor


@cache
def partitions() -> dict[int, str]:
    """Kernel dev_t -> name, from /proc/partitions."""
    out = {}
    try:
        with open("/proc/partitions") as f:
            for line in f.readlines()[2:]:
                cols = line.split()
                if len(cols) == 4:
                    out[kernel_dev(int(cols[0]), int(cols[1]))] = cols[3]
    except OSError:
        pass
    return out


def dev_name(dev: int) -> str:
    return partitions().get(dev, "Unknown")


def dev_by_name(name: str) -> int:
    for dev, n in partitions().items():
        if n == name.removeprefix("/dev/"):
            return dev
    raise NotFoundError(f"no disk named {name}: pick one listed in /proc/partitions")


FLAG_WORDS = [("NOWAIT", "NoWait-"), ("BACKGROUND", "Background-"), ("RAHEAD", "ReadAhead-"),
              ("PREFLUSH", "PreFlush-"), ("FUA", "FUA-"), ("INTEGRITY", "Integrity-"), ("IDLE", "Idle-"),
              ("NOMERGE", "NoMerge-"), ("PRIO", "Priority-"), ("META", "Metadata-"), ("SYNC", "Sync-")]
OP_WORDS = {"READ": "Read", "WRITE": "Write", "FLUSH": "Flush", "DISCARD": "Discard",
            "SECURE_ERASE": "SecureErase", "ZONE_RESET": "ZoneReset", "WRITE_SAME": "WriteSame",
            "ZONE_RESET_ALL": "ZoneResetAll", "WRITE_ZEROES": "WriteZeroes", "ZONE_OPEN": "ZoneOpen",
            "ZONE_CLOSE": "ZoneClose", "ZONE_FINISH": "ZoneFinish", "ZONE_APPEND": "ZoneAppend",
            "DRV_IN": "DrvIn", "DRV_OUT": "DrvOut"}


@cache
def _req_enums() -> tuple[dict[str, int], dict[int, str]]:
    from purebpf.btf import BTF

    btf = BTF.load_kernel()
    try:
        bits = {k.removeprefix("__REQ_"): v for k, v in btf.enum_values("req_flag_bits").items()}
        ops = {v: k.removeprefix("REQ_OP_") for k, v in btf.enum_values("req_op").items()}
    except Exception:  # noqa: BLE001 - no BTF enums: fall back to numbers
        return {}, {}
    return bits, ops


def describe_flags(cmd_flags: int) -> str:
    """The words libbpf-tools' biolatency -F prints for a request's cmd_flags."""
    bits, ops = _req_enums()
    text = "".join(word for name, word in FLAG_WORDS if name in bits and cmd_flags & (1 << bits[name]))
    op = ops.get(cmd_flags & 0xFF)
    return text + (OP_WORDS.get(op, "Unknown") if op else "Unknown")


def rwbs(cmd_flags: int) -> str:
    """The T column of biosnoop: F(lush before), the operation (R, W, D, DE,
    F, N), then F(UA), A (readahead), S(ync), M(etadata)."""
    bits, ops = _req_enums()

    def has(name: str) -> bool:
        return name in bits and bool(cmd_flags & (1 << bits[name]))

    op = ops.get(cmd_flags & 0xFF)
    text = "F" if has("PREFLUSH") else ""
    text += {"WRITE": "W", "WRITE_SAME": "W", "DISCARD": "D", "SECURE_ERASE": "DE", "FLUSH": "F",
             "READ": "R"}.get(op or "", "N")
    return text + "".join(c for name, c in (("FUA", "F"), ("RAHEAD", "A"), ("SYNC", "S"), ("META", "M"))
                          if has(name))
