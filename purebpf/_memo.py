"""``cache``: ``functools.cache`` for the few functions on a tool's start-up path;
``cache_per_file``: what is read from a file, kept per version of that file.

``functools`` imports ``collections`` (with ``operator``, ``reprlib``,
``keyword`` and ``itertools``): ~1.8 ms, a tenth of a ready tool's start-up,
for a decorator.  This one keeps what those functions need: one result per
tuple of (hashable, positional) arguments, kept for the process's life, and
``cache_clear()``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~2 ms to import: only type checkers read these
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    F = TypeVar("F", bound=Callable)

_MISSING = object()


def cache(fn: F) -> F:
    results: dict = {}

    def cached(*args):
        value = results.get(args, _MISSING)
        if value is _MISSING:  # an exception from fn is not cached, and not chained to a KeyError
            value = results[args] = fn(*args)
        return value

    cached.cache_clear = results.clear  # type: ignore[attr-defined]
    cached.__name__, cached.__qualname__, cached.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    cached.__module__, cached.__wrapped__ = fn.__module__, fn  # type: ignore[attr-defined]
    return cached  # type: ignore[return-value]


def cache_per_file(maxsize: int) -> Callable[[F], F]:
    """Cache ``fn(path, *args)`` per version of the file at ``path`` (device, inode, modification
    time), so a binary rebuilt in place is read again; at most ``maxsize`` results, the oldest
    dropped first.  ``os.stat``'s OSError reaches the caller, which knows what a missing file means."""
    import os

    def wrap(fn: F) -> F:
        results: dict = {}

        def cached(path, *args):
            st = os.stat(path)
            key = (str(path), st.st_dev, st.st_ino, st.st_mtime_ns, *args)
            value = results.get(key, _MISSING)
            if value is _MISSING:
                value = fn(str(path), *args)
                if len(results) >= maxsize:
                    del results[next(iter(results))]
                results[key] = value
            return value

        cached.cache_clear = results.clear  # type: ignore[attr-defined]
        cached.__name__, cached.__qualname__, cached.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return cached  # type: ignore[return-value]

    return wrap
