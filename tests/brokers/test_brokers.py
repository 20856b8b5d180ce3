"""The broker contract, over the in-process and the Redis backend, and Redis faults."""

from __future__ import annotations

import asyncio

from hub.brokers import Broker, create_broker
from hub.brokers.redis import RedisBroker
from tests.brokers.conftest import Inbox, redis_url_or_skip
from tests.services import RedisServer, delete_keys, unique_prefix, wait_until


async def test_subscribed_room_receives_what_is_published(broker: Broker) -> None:
    """A message published to a subscribed room arrives once, unchanged."""
    inbox = Inbox(broker)
    await broker.subscribe("user:a")
    await broker.publish("user:a", "c1:{\"seq\":1}")
    await inbox.wait(lambda: inbox.of("user:a"))
    assert inbox.of("user:a") == ["c1:{\"seq\":1}"]


async def test_only_subscribed_rooms_receive(broker: Broker) -> None:
    """A room nobody subscribed gets nothing; messages of one room arrive in order."""
    inbox = Inbox(broker)
    await broker.subscribe("user:a")
    await broker.publish("user:b", "not for a")
    for n in range(5):
        await broker.publish("user:a", f"m{n}")
    await inbox.wait(lambda: len(inbox.of("user:a")) == 5)
    assert inbox.of("user:a") == [f"m{n}" for n in range(5)]
    assert inbox.of("user:b") == []


async def test_unsubscribed_room_stops_receiving(broker: Broker) -> None:
    """After unsubscribe a room gets nothing, while a room still subscribed does."""
    inbox = Inbox(broker)
    await broker.subscribe("user:a")
    await broker.subscribe("user:b")
    await broker.unsubscribe("user:a")
    await broker.publish("user:a", "late")
    await broker.publish("user:b", "marker")
    await inbox.wait(lambda: inbox.of("user:b"))
    assert inbox.of("user:a") == []
    assert await broker.healthy()


async def test_two_redis_brokers_act_as_one() -> None:
    """Two processes' brokers on one Redis: what one publishes reaches the other's rooms."""
    url, prefix = await redis_url_or_skip(), unique_prefix()
    first, second = create_broker(url, prefix), create_broker(url, prefix)
    inbox_first, inbox_second = Inbox(first), Inbox(second)
    await first.start()
    await second.start()
    try:
        await wait_until(second.healthy, 10, "the subscriber to connect")
        await second.subscribe("user:a")
        await first.publish("user:a", "hello")
        await inbox_second.wait(lambda: inbox_second.of("user:a") == ["hello"])
        assert inbox_first.messages == []  # the publisher holds no such room
    finally:
        await first.stop()
        await second.stop()
        await delete_keys(prefix)


async def test_redis_broker_delivers_here_while_redis_is_down(
    private_broker: RedisBroker, redis_server: RedisServer
) -> None:
    """With Redis stopped, publish returns quietly and still reaches this process's room."""
    inbox = Inbox(private_broker)
    await private_broker.subscribe("user:a")
    redis_server.stop()
    await wait_until(lambda: _not(private_broker.healthy), 10, "the broker to report down")
    await private_broker.publish("user:a", "while down")
    await private_broker.publish("user:b", "nobody here")
    assert inbox.of("user:a") == ["while down"]
    assert inbox.of("user:b") == []


async def test_redis_broker_reconnects_resubscribes_and_calls_on_reconnect(
    private_broker: RedisBroker, redis_server: RedisServer
) -> None:
    """After Redis comes back the rooms are subscribed again and on_reconnect is called."""
    inbox = Inbox(private_broker)
    await private_broker.subscribe("user:a")
    first = inbox.reconnects
    redis_server.stop()
    await wait_until(lambda: _not(private_broker.healthy), 10, "the broker to report down")
    await private_broker.subscribe("user:b")  # joined during the outage: returns at once
    redis_server.start()
    await inbox.wait(lambda: inbox.reconnects > first)
    assert await private_broker.healthy()
    other = RedisBroker(redis_server.url, private_broker._prefix)
    await other.start()
    try:
        await other.publish("user:a", "after a")
        await other.publish("user:b", "after b")
        await inbox.wait(lambda: inbox.of("user:a") and inbox.of("user:b"))
    finally:
        await other.stop()
    assert inbox.of("user:a") == ["after a"] and inbox.of("user:b") == ["after b"]


async def test_redis_broker_starts_without_redis_and_connects_later(
    redis_server: RedisServer,
) -> None:
    """A broker started while Redis is down serves locally, then connects when Redis is up."""
    redis_server.stop()
    broker = RedisBroker(redis_server.url, unique_prefix(), backoff=(0.05, 0.3))
    inbox = Inbox(broker)
    await broker.start()
    try:
        await asyncio.wait_for(broker.subscribe("user:a"), 1.0)
        await broker.publish("user:a", "local")
        assert inbox.of("user:a") == ["local"]
        redis_server.start()
        await inbox.wait(lambda: inbox.reconnects >= 1)
        await broker.publish("user:a", "through redis")
        await inbox.wait(lambda: "through redis" in inbox.of("user:a"))
        # "local" may come a second time, published again once Redis answered: a repeat.
        assert set(inbox.of("user:a")) == {"local", "through redis"}
    finally:
        await broker.stop()


async def test_what_could_not_be_published_is_published_once_redis_answers(
    redis_server: RedisServer,
) -> None:
    """Messages published while Redis was away reach the other processes after it is back."""
    prefix = unique_prefix()
    # The sender's listener stays away for seconds: only its publisher sends again.
    sender = RedisBroker(redis_server.url, prefix, backoff=(5.0, 5.0))
    sender.HOLD_OFF = 0.0  # try publishing at once, not a second after the last failure
    receiver = RedisBroker(redis_server.url, prefix, backoff=(0.05, 0.3))
    inbox = Inbox(receiver)
    await sender.start()
    await receiver.start()
    try:
        await wait_until(receiver.healthy, 10, "the receiver to connect")
        await receiver.subscribe("user:a")
        redis_server.stop()
        await wait_until(lambda: _not(sender.healthy), 10, "the sender to see Redis go")
        for n in range(3):
            await sender.publish("user:a", f"m{n}")
        redis_server.start()
        await wait_until(receiver.healthy, 10, "the receiver to subscribe again")
        await sender.publish("user:a", "m3")
        await inbox.wait(lambda: len(inbox.of("user:a")) == 4)
        assert inbox.of("user:a") == ["m0", "m1", "m2", "m3"]
    finally:
        await sender.stop()
        await receiver.stop()


async def _not(check: object) -> bool:
    assert callable(check)
    return not await check()
