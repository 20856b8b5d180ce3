"""Attempt counters: reserved before the work, atomic across keys, released on success."""

from __future__ import annotations

import pytest

from hub.attempts import Reservation, Rule
from hub.attempts.memory import MemoryAttempts


async def test_reserve_release_and_windows() -> None:
    """Past the limit of any key nothing is recorded and the wait is the oldest's way out of
    the window; a released attempt does not count; a limit of 0 is no limit."""
    now = [0.0]
    attempts = MemoryAttempts(clock=lambda: now[0])
    pair, user = Rule("a|ann", 2, 10), Rule("ann", 3, 10)
    first = await attempts.reserve([pair, user])
    assert isinstance(first, Reservation)
    now[0] = 1
    assert isinstance(await attempts.reserve([pair, user]), Reservation)
    assert await attempts.reserve([pair, user]) == pytest.approx(9)
    # Another address has room of its own but shares the username's window.
    other = Rule("b|ann", 2, 10)
    assert isinstance(await attempts.reserve([other, user]), Reservation)
    assert await attempts.reserve([other, user]) == pytest.approx(9)
    await attempts.release(first)
    assert isinstance(await attempts.reserve([other, user]), Reservation)
    now[0] = 11.5
    assert isinstance(await attempts.reserve([pair, user]), Reservation)
    for _ in range(100):
        assert isinstance(await attempts.reserve([Rule("x", 0, 1)]), Reservation)
    await attempts.clear("x")
