"""hub.grouping.Grouped: asks that arrive over a few turns of the event loop share one call,
a lone ask is not held back, groups stay within their bound, a failure reaches its group."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hub.grouping import Grouped


class _Many:
    """Doubles every ask; records each group it was called with."""

    def __init__(self, fail: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.fail = fail

    async def __call__(self, asks: Sequence[int]) -> list[int]:
        self.groups.append(list(asks))
        await asyncio.sleep(0)
        if self.fail:
            raise ValueError("read failed")
        return [ask * 2 for ask in asks]


async def _ask_after(grouped: Grouped[int, int], ask: int, turns: int) -> int:
    for _ in range(turns):
        await asyncio.sleep(0)
    return await grouped(ask)


async def test_asks_of_following_turns_join_the_first_group() -> None:
    many = _Many()
    grouped = Grouped(many, max_group=100, linger=12)
    answers = await asyncio.gather(*(_ask_after(grouped, n, n) for n in range(8)))
    assert answers == [n * 2 for n in range(8)]
    assert many.groups == [list(range(8))]


async def test_without_linger_only_the_asks_of_one_turn_group() -> None:
    many = _Many()
    grouped = Grouped(many, max_group=100)
    answers = await asyncio.gather(*(_ask_after(grouped, n, n * 3) for n in range(4)))
    assert answers == [0, 2, 4, 6]
    assert len(many.groups) > 1
    assert sorted(ask for group in many.groups for ask in group) == [0, 1, 2, 3]


async def test_linger_ends_at_the_first_turn_that_brings_nothing() -> None:
    many = _Many()
    grouped = Grouped(many, max_group=100, linger=1000)
    task = asyncio.ensure_future(grouped(1))
    turns = 0
    while not many.groups:
        await asyncio.sleep(0)
        turns += 1
    assert turns <= 3
    assert await task == 2


async def test_linger_is_bounded_while_asks_keep_coming() -> None:
    many = _Many()
    grouped = Grouped(many, max_group=1000, linger=5)
    answers = await asyncio.gather(*(_ask_after(grouped, n, n) for n in range(40)))
    assert answers == [n * 2 for n in range(40)]
    assert len(many.groups[0]) <= 7
    assert [ask for group in many.groups for ask in group] == list(range(40))


async def test_groups_stay_within_their_bound() -> None:
    many = _Many()
    grouped = Grouped(many, max_group=3, linger=12)
    answers = await asyncio.gather(*(grouped(n) for n in range(10)))
    assert answers == [n * 2 for n in range(10)]
    assert all(len(group) <= 3 for group in many.groups)
    assert [ask for group in many.groups for ask in group] == list(range(10))


async def test_a_failure_is_raised_to_every_ask_of_its_group() -> None:
    many = _Many(fail=True)
    grouped = Grouped(many, max_group=100, linger=12)
    results = await asyncio.gather(*(_ask_after(grouped, n, n) for n in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(result, ValueError) for result in results)
    many.fail = False
    assert await grouped(5) == 10


async def test_an_ask_whose_caller_left_does_not_stop_the_others() -> None:
    many = _Many()
    grouped = Grouped(many, max_group=100, linger=12)
    leaving = asyncio.ensure_future(grouped(1))
    staying = asyncio.ensure_future(_ask_after(grouped, 2, 1))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == 4
    with pytest.raises(asyncio.CancelledError):
        await leaving
