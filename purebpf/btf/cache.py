"""On-disk cache of BTF indexes, keyed by the blob's checksum.

Indexing vmlinux BTF (~130k types) costs ~100 ms of Python; reading the index
back costs ~1 ms.  The cache lives in ``$PUREBPF_CACHE_DIR``, else
``$XDG_CACHE_HOME/purebpf``, else ``/var/cache/purebpf`` for root and
``~/.cache/purebpf`` for others.  ``PUREBPF_CACHE_DIR=`` (empty) turns it off.
Every failure to read or write is silent: the cache only ever saves time.
"""

from __future__ import annotations

import os


def cache_dir() -> str | None:
    """Where cached indexes live, or None when caching is turned off."""
    explicit = os.environ.get("PUREBPF_CACHE_DIR")
    if explicit is not None:
        return explicit or None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return os.path.join(xdg, "purebpf")
    if os.geteuid() == 0:
        return "/var/cache/purebpf"
    return os.path.join(os.path.expanduser("~"), ".cache", "purebpf")


def blob_key(data: bytes | memoryview) -> str:
    """A content key for ``data``: CRC-32 plus length (cheap: ~1 ms for 6 MB)."""
    import zlib

    return f"{zlib.crc32(data):08x}-{len(data):x}"


def _path(kind: str, key: str) -> str | None:
    base = cache_dir()
    return os.path.join(base, f"{kind}-{key}.bin") if base else None


def read(kind: str, key: str) -> bytes | None:
    path = _path(kind, key)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def write(kind: str, key: str, payload: bytes) -> None:
    """Store atomically (write a temporary file, then rename) so readers never see half a file."""
    path = _path(kind, key)
    if path is None:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
