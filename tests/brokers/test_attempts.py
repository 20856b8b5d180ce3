"""Attempt counters on both backends: the same rules in memory and in Redis, atomic under
parallel reservations, and in-process counting while Redis is away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.attempts import Attempts, Reservation, Rule, create_attempts
from tests.brokers.conftest import redis_url_or_skip
from tests.services import delete_keys, free_port, unique_prefix


@pytest.fixture(params=["memory", "redis"])
async def attempts(request: pytest.FixtureRequest) -> AsyncIterator[Attempts]:
    """Started attempt counters of each backend (Redis under a key prefix of its own)."""
    prefix = unique_prefix()
    url = "memory://" if request.param == "memory" else await redis_url_or_skip()
    made = create_attempts(url, prefix)
    await made.start()
    try:
        yield made
    finally:
        await made.stop()
        if request.param == "redis":
            await delete_keys(prefix)


async def test_limits_release_and_clear(attempts: Attempts) -> None:
    """Past any rule's limit nothing is recorded and the wait is within the window; a
    released attempt frees its place under every key; clear forgets one key."""
    pair, user = Rule("a|ann", 2, 60), Rule("ann", 3, 60)
    first = await attempts.reserve([pair, user])
    assert isinstance(first, Reservation)
    assert isinstance(await attempts.reserve([pair, user]), Reservation)
    wait = await attempts.reserve([pair, user])
    assert isinstance(wait, float) and 0 < wait <= 60
    assert isinstance(await attempts.reserve([Rule("b|ann", 2, 60), user]), Reservation)
    assert isinstance(await attempts.reserve([Rule("c|ann", 2, 60), user]), float)
    await attempts.release(first)
    assert isinstance(await attempts.reserve([Rule("c|ann", 2, 60), user]), Reservation)
    await attempts.clear("a|ann")
    assert isinstance(await attempts.reserve([pair]), Reservation)


async def test_parallel_reservations_never_pass_the_limit(attempts: Attempts) -> None:
    """Fifty reservations at once against a limit of five: exactly five are recorded."""
    answers = await asyncio.gather(*(attempts.reserve([Rule("burst", 5, 60)])
                                     for _ in range(50)))
    assert sum(isinstance(a, Reservation) for a in answers) == 5


async def test_redis_away_counts_in_this_process(caplog: pytest.LogCaptureFixture) -> None:
    """Without Redis the limits still hold, counted here, and the outage is logged once."""
    attempts = create_attempts(f"redis://127.0.0.1:{free_port()}/0", unique_prefix())
    await attempts.start()
    try:
        answers = [await attempts.reserve([Rule("k", 2, 60)]) for _ in range(4)]
        assert [isinstance(a, Reservation) for a in answers] == [True, True, False, False]
    finally:
        await attempts.stop()
    assert sum("counting in this process" in r.getMessage() for r in caplog.records) == 1
