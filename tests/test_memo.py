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
