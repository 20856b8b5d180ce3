"""Fixtures for broker and presence tests: backends over memory and Redis, private servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.brokers import Broker, create_broker
from hub.brokers.redis import RedisBroker
from tests.conftest import skip_or_fail
from tests.services import (
    REDIS_URL,
    RedisServer,
    delete_keys,
    redis_problem,
    unique_prefix,
    wait_until,
)


class Inbox:
    """What a broker delivered, and how often it said it reconnected."""

    def __init__(self, broker: Broker) -> None:
        self.messages: list[tuple[str, str]] = []
        self.reconnects = 0
        self._changed = asyncio.Event()
        broker.bind(self._message, self._reconnect)

    def _message(self, room: str, message: str) -> None:
        self.messages.append((room, message))
        self._changed.set()

    def _reconnect(self) -> None:
        self.reconnects += 1
        self._changed.set()

    def of(self, room: str) -> list[str]:
        """The messages delivered to ``room``, in order."""
        return [message for name, message in self.messages if name == room]

    async def wait(self, check: object, timeout: float = 10.0) -> None:
        """Wait until ``check()`` is true (re-checked on every delivery)."""
        assert callable(check)
        async with asyncio.timeout(timeout):
            while not check():
                self._changed.clear()
                await self._changed.wait()


async def redis_url_or_skip() -> str:
    """The shared test Redis URL, or a visible skip when it does not answer."""
    problem = await redis_problem()
    if problem is not None:
        skip_or_fail(problem)
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """A started broker of each backend (Redis under a key prefix of its own)."""
    if request.param == "memory":
        made = create_broker("memory://")
        prefix = ""
    else:
        prefix = unique_prefix()
        made = create_broker(await redis_url_or_skip(), prefix)
    await made.start()
    try:
        await wait_until(made.healthy, 10, "the broker to connect")
        yield made
    finally:
        await made.stop()
        if prefix:
            await delete_keys(prefix)


@pytest.fixture
async def private_broker(redis_server: RedisServer) -> AsyncIterator[RedisBroker]:
    """A started Redis broker on the private server, with quick reconnects."""
    made = RedisBroker(redis_server.url, unique_prefix(), backoff=(0.05, 0.5))
    await made.start()
    try:
        await wait_until(made.healthy, 10, "the broker to connect")
        yield made
    finally:
        await made.stop()
