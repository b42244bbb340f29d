"""Per-boot cache of a :class:`FeatureReport`.

What a kernel supports cannot change until it reboots (modules aside), so a
report is kept under ``$XDG_CACHE_HOME/purebpf`` (or ``/var/cache/purebpf``)
keyed by boot id and kernel release; any other boot misses.  Every failure to
read or write the cache is silent: the cache only ever saves time.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

from purebpf.features.report import FeatureReport

FILE_NAME = "features.json"
SCHEMA = 1
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def cache_key() -> dict[str, object]:
    return {"schema": SCHEMA, "boot_id": boot_id(), "kernel": platform.release()}


def cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "purebpf" if xdg else Path("/var/cache/purebpf")


def cache_path() -> Path:
    return cache_dir() / FILE_NAME


def load() -> FeatureReport | None:
    """The cached report of this boot, or None."""
    try:
        data = json.loads(cache_path().read_text())
        if data.get("key") != cache_key() or not cache_key()["boot_id"]:
            return None
        report = FeatureReport.from_dict(data["report"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    report.from_cache = True
    return report


def save(report: FeatureReport) -> None:
    """Write ``report`` atomically (a reader never sees half a file)."""
    if not cache_key()["boot_id"]:
        return
    payload = report.to_dict()
    payload.pop("from_cache", None)
    try:
        directory = cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".features-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"key": cache_key(), "report": payload}, f)
            os.replace(tmp, cache_path())
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
