"""Presence over memory and Redis: listing devices, several processes, expiry, Redis faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.presence import Presence, create_presence
from hub.presence.redis import RedisPresence
from tests.brokers.conftest import redis_url_or_skip
from tests.services import RedisServer, delete_keys, unique_prefix, wait_until


def entry(device: str, since: str = "2026-01-01T00:00:00.000Z") -> dict[str, str]:
    """A presence entry as a session makes it."""
    return {"device": device, "agent": "test", "since": since}


class Expired:
    """Records the users whose presence changed by expiry."""

    def __init__(self) -> None:
        self.users: list[str] = []

    async def __call__(self, user_id: str) -> None:
        self.users.append(user_id)


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Presence]:
    """A started presence store of each backend."""
    prefix = unique_prefix()
    url = "memory://" if request.param == "memory" else await redis_url_or_skip()
    made = create_presence(url, prefix, ttl=30.0)
    await made.start()
    try:
        yield made
    finally:
        await made.stop()
        if request.param == "redis":
            await delete_keys(prefix)


async def test_devices_lists_each_device_once(presence: Presence) -> None:
    """Two sockets of one device count once (earliest since); leave removes a socket."""
    await presence.join("u", "c1", entry("phone", "2026-01-01T00:00:02.000Z"))
    await presence.join("u", "c2", entry("phone", "2026-01-01T00:00:01.000Z"))
    await presence.join("u", "c3", entry("laptop"))
    await presence.join("other", "c4", entry("tablet"))
    devices = await presence.devices("u")
    assert [d["device"] for d in devices] == ["laptop", "phone"]
    assert devices[1] == entry("phone", "2026-01-01T00:00:01.000Z")
    await presence.leave("u", "c3")
    await presence.leave("u", "c1")
    assert await presence.devices("u") == [entry("phone", "2026-01-01T00:00:01.000Z")]
    await presence.leave("u", "c2")
    assert await presence.devices("u") == []


async def test_presence_is_shared_between_processes() -> None:
    """Devices joined on one process are listed on another, and gone once they leave."""
    url, prefix = await redis_url_or_skip(), unique_prefix()
    first, second = RedisPresence(url, prefix, 30.0), RedisPresence(url, prefix, 30.0)
    await first.start()
    await second.start()
    try:
        await first.join("u", "c1", entry("phone"))
        await second.join("u", "c2", entry("laptop"))
        for side in (first, second):
            assert [d["device"] for d in await side.devices("u")] == ["laptop", "phone"]
        await first.leave("u", "c1")
        assert [d["device"] for d in await second.devices("u")] == ["laptop"]
    finally:
        await first.stop()
        await second.stop()
        await delete_keys(prefix)


async def test_devices_of_a_dead_process_expire_and_are_announced() -> None:
    """A process that stops refreshing loses its devices within the ttl; a live process
    holding that user removes the stale entries and calls on_expired."""
    url, prefix = await redis_url_or_skip(), unique_prefix()
    dead, live = RedisPresence(url, prefix, 0.6), RedisPresence(url, prefix, 0.6)
    expired = Expired()
    live.set_on_expired(expired)
    await dead.start()
    await live.start()
    try:
        await dead.join("u", "gone", entry("old-phone"))
        await live.join("u", "here", entry("laptop"))
        assert [d["device"] for d in await live.devices("u")] == ["laptop", "old-phone"]
        # Kill the dead process as SIGKILL would: no leave, no stop, no more refreshes.
        assert dead._task is not None
        dead._task.cancel()
        await asyncio.gather(dead._task, return_exceptions=True)
        await wait_until(lambda: "u" in expired.users, 5, "on_expired for the user")
        assert [d["device"] for d in await live.devices("u")] == ["laptop"]
    finally:
        dead._mine.clear()  # its entries are gone already; stop only closes the client
        await dead.stop()
        await live.stop()
        await delete_keys(prefix)


async def test_presence_survives_a_redis_outage(redis_server: RedisServer) -> None:
    """While Redis is down presence answers with local sockets; once back (empty), the
    refresh writes them again and announces the change."""
    presence = RedisPresence(redis_server.url, unique_prefix(), 0.6)
    expired = Expired()
    presence.set_on_expired(expired)
    await presence.start()
    try:
        await presence.join("u", "c1", entry("phone"))
        redis_server.stop()
        await presence.join("u", "c2", entry("laptop"))
        assert [d["device"] for d in await presence.devices("u")] == ["laptop", "phone"]
        await presence.leave("u", "c2")
        assert [d["device"] for d in await presence.devices("u")] == ["phone"]
        redis_server.start()
        await wait_until(lambda: "u" in expired.users, 5, "the entries to be written back")
        other = RedisPresence(redis_server.url, presence._prefix, 0.6)
        await other.start()
        try:
            assert [d["device"] for d in await other.devices("u")] == ["phone"]
        finally:
            await other.stop()
    finally:
        await presence.stop()


async def test_memory_presence_ignores_on_expired() -> None:
    """The in-process store accepts an expiry callback and never needs to call it."""
    presence = create_presence("", "p:", 30.0)
    expired = Expired()
    presence.set_on_expired(expired)
    await presence.join("u", "c1", entry("phone"))
    await presence.leave("u", "c1")
    assert expired.users == [] and await presence.devices("u") == []
