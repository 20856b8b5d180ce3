"""The Redis broker: pub/sub through redis.asyncio, for several hub processes or machines.

One subscriber connection per process, owned by one long-lived listener task that heals
itself: when the connection breaks (a dead peer is found by TCP keepalive, redis-py's default)
it retries with capped exponential backoff, subscribes every held room again, waits until
Redis confirms them all, then calls ``on_reconnect`` so rooms look in the log for what they
missed. Publishing uses other connections. When a publish fails, or the listener is not
subscribed, the message goes to this process's room at once (local sockets stay live; a
repeat is harmless) and is published again once Redis answers, so other processes that never
lost Redis are not left waiting for the next change to notice a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from hub.brokers.base import Broker

log = logging.getLogger("todohub.brokers.redis")

FAULTS = (RedisError, OSError)  # Redis away, refusing, timing out: expected, no traceback


def _why(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"


class RedisBroker(Broker):
    """Rooms are Redis channels ``<prefix><room>``; one listener task per process."""

    CONFIRM_TIMEOUT = 3.0  # longest wait for Redis to confirm a subscription
    HOLD_OFF = 1.0  # after a failed publish, publishing waits this long before trying again

    def __init__(self, url: str, prefix: str = "todohub:",
                 backoff: tuple[float, float] = (0.1, 5.0), max_unsent: int = 1000) -> None:
        super().__init__()
        self._url, self._prefix, self._backoff = url, prefix, backoff
        self._rooms: set[str] = set()
        self._unsent: deque[tuple[str, str]] = deque(maxlen=max_unsent)
        self._waiters: dict[str, asyncio.Future[None]] = {}  # channel -> SUBSCRIBE answer
        self._resync: set[str] | None = None  # channels to confirm before on_reconnect
        self._pubsub: PubSub | None = None  # set while the subscriber connection is up
        self._lock = asyncio.Lock()  # one (re)subscription at a time on that connection
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._fault: tuple[float, Exception] | None = None  # the last failed publish

    async def start(self) -> None:
        """Create the clients and start the listener (Redis may come later)."""
        # Short timeouts and no silent retries: a write never waits long on Redis, and every
        # reconnect of the subscriber goes through the listener.
        options: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 1.0,
                                   "socket_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
        # Publishes wait for one of a bounded set of connections instead of failing past it.
        self._publisher = Redis.from_pool(BlockingConnectionPool.from_url(
            self._url, max_connections=64, timeout=1.0, **options))
        self._subscriber = Redis.from_url(self._url, **options)
        self._task = asyncio.create_task(self._listen(), name="todohub-redis-listener")

    async def stop(self) -> None:
        """Stop the listener and close every connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for client in filter(None, (self._publisher, self._subscriber)):
            await client.aclose()
        self._publisher = self._subscriber = self._task = None

    async def publish(self, room: str, message: str) -> None:
        """Publish to Redis; deliver here at once when Redis or the listener is away."""
        fault = await self._send_unsent() or await self._publish(room, message)
        if fault is not None:
            if not self._unsent:  # one line per outage
                log.warning("cannot publish to Redis (%s); delivering in this process and "
                            "publishing again once Redis answers", _why(fault))
            self._unsent.append((room, message))
        if (fault is not None or not await self.healthy()) and room in self._rooms:
            self._on_message(room, message)

    async def subscribe(self, room: str) -> None:
        """Subscribe ``room``; returns once Redis confirmed it, or at once while it is away."""
        self._rooms.add(room)
        await self._command("subscribe", room)

    async def unsubscribe(self, room: str) -> None:
        """Unsubscribe ``room`` (a reconnect subscribes only the rooms still held)."""
        self._rooms.discard(room)
        await self._command("unsubscribe", room)

    async def healthy(self) -> bool:
        """Whether the subscriber connection is up with every room subscribed."""
        return self._pubsub is not None and self._resync is None

    async def _publish(self, room: str, message: str) -> Exception | None:
        loop = asyncio.get_running_loop()
        if self._fault is not None and loop.time() < self._fault[0] + self.HOLD_OFF:
            return self._fault[1]  # Redis failed a moment ago: do not stall the writer again
        try:
            assert self._publisher is not None, "publish before start"
            await self._publisher.publish(self._prefix + room, message)
        except FAULTS as exc:
            self._fault = (loop.time(), exc)
            return exc
        self._fault = None
        return None

    async def _send_unsent(self) -> Exception | None:
        """Publish again what could not be published, oldest first (the fault, if any)."""
        while self._unsent:
            room, message = self._unsent.popleft()
            if fault := await self._publish(room, message):
                self._unsent.appendleft((room, message))
                return fault
        return None

    async def _command(self, command: str, room: str) -> None:
        channel, waiter = self._prefix + room, None
        async with self._lock:
            if self._pubsub is None:
                return  # the listener subscribes every held room when it connects
            if command == "subscribe":
                waiter = self._waiters.setdefault(
                    channel, asyncio.get_running_loop().create_future())
            try:
                await getattr(self._pubsub, command)(channel)
            except FAULTS as exc:  # the listener sees it too, reconnects and resubscribes
                log.warning("Redis %s of %s failed (%s)", command, room, _why(exc))
                return
        if waiter is None:
            return
        done, _ = await asyncio.wait({waiter}, timeout=self.CONFIRM_TIMEOUT)
        if not done:
            log.warning("Redis did not confirm %s in %.0f s", room, self.CONFIRM_TIMEOUT)

    async def _listen(self) -> None:
        assert self._subscriber is not None
        delay, lost = self._backoff[0], False
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                async with self._lock:
                    await pubsub.connect()  # type: ignore[no-untyped-call, unused-ignore]
                    self._resync = {self._prefix + room for room in self._rooms}
                    if self._resync:
                        await pubsub.subscribe(*self._resync)
                    self._pubsub = pubsub
                if lost:
                    log.info("Redis is back; resubscribing %d rooms", len(self._resync))
                delay, lost = self._backoff[0], False
                self._confirmed("")  # with no room to confirm, on_reconnect runs now
                self._fault = None  # Redis answers again: publish what waits, at once
                await self._send_unsent()
                while True:  # a bug in a room or on_reconnect also lands below, and heals
                    message = await pubsub.get_message(timeout=None)
                    if message and message["type"] == "message":
                        self._on_message(message["channel"][len(self._prefix):],
                                         message["data"])
                    elif message and message["type"] == "subscribe":
                        self._confirmed(message["channel"])
            except FAULTS as exc:
                (log.debug if lost else log.warning)(
                    "Redis subscriber connection is down (%s); serving local sockets, "
                    "retrying in %.1f s", _why(exc), delay)
                lost = True
            except Exception:
                log.exception("the Redis listener failed; restarting it in %.1f s", delay)
            finally:
                self._pubsub = self._resync = None
                for waiter in self._waiters.values():  # joins go on; the resync catches up
                    if not waiter.done():
                        waiter.set_result(None)
                self._waiters.clear()
                with contextlib.suppress(*FAULTS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._backoff[1])

    def _confirmed(self, channel: str) -> None:
        """Redis confirmed ``channel``; once every room is, rooms check the log."""
        waiter = self._waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._resync is not None:
            self._resync.discard(channel)
            if not self._resync:
                self._resync = None
                self._on_reconnect()


async def publish_once(url: str, prefix: str, room: str, message: str) -> None:
    """Publish one message to ``room`` from outside a hub (the command line), without a
    listener; raises RedisError or OSError when Redis does not answer."""
    client = Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        await client.publish(prefix + room, message)
    finally:
        await client.aclose()
