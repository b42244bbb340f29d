"""purebpf._memo.cache: one call per argument tuple, failures not kept."""

import pytest

from purebpf._memo import cache


def test_cache_calls_once_per_arguments_and_clears() -> None:
    calls = []

    @cache
    def double(x: int) -> int:
        """Doc kept."""
        calls.append(x)
        return 2 * x

    assert [double(2), double(2), double(3), double(2)] == [4, 4, 6, 4]
    assert calls == [2, 3]
    assert double.__name__ == "double" and double.__doc__ == "Doc kept."
    double.cache_clear()
    assert double(2) == 4 and calls == [2, 3, 2]


def test_cache_keeps_none_and_not_failures() -> None:
    calls = []

    @cache
    def flaky(x: int) -> None:
        calls.append(x)
        if len(calls) == 1:
            raise OSError("first time")
        return None

    with pytest.raises(OSError) as exc:
        flaky(1)
    assert exc.value.__context__ is None  # not chained to the cache's own miss
    assert flaky(1) is None and flaky(1) is None
    assert calls == [1, 1]


def test_cache_per_file_reads_a_file_again_once_it_changes_and_keeps_maxsize(tmp_path) -> None:
    import os

    from purebpf._memo import cache_per_file

    reads = []

    @cache_per_file(2)
    def first_line(path: str) -> str:
        reads.append(path)
        return open(path).read().splitlines()[0]

    a, b, c = (tmp_path / n for n in "abc")
    for f in (a, b, c):
        f.write_text(f"{f.name}\n")
    assert first_line(a) == "a" and first_line(a) == "a" and reads == [str(a)]
    a.write_text("changed\n")
    os.utime(a, ns=(0, os.stat(a).st_mtime_ns + 1_000_000))  # a new version even within one clock tick
    assert first_line(a) == "changed" and len(reads) == 2
    first_line(b), first_line(c)  # the oldest result (a's) makes room
    first_line(a)
    assert reads[-1] == str(a) and len(reads) == 5
    with pytest.raises(FileNotFoundError):
        first_line(tmp_path / "missing")
