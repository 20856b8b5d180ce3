"""Attempt counters in Redis, shared by every hub process.

Each key is a sorted set ``<prefix>attempts:<sha256 of key>`` of attempt ids scored by their
time in milliseconds (Redis's clock, so the processes' clocks do not matter). One Lua script
drops what left the window, checks every rule and records the attempt under all keys, so
reserving is atomic across processes.

While Redis is away the hub does not stop signing people in: it counts in this process
(logged once), as a single process would, and goes back to Redis when it answers again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.attempts.base import Attempts, Reservation, Rule
from hub.attempts.memory import MemoryAttempts

log = logging.getLogger("todohub.attempts")

FAULTS = (RedisError, OSError)

# KEYS: the sets; ARGV: attempt id, then limit and window (ms) per key.
# Returns 0 when recorded, else the milliseconds to wait.
RESERVE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i])
    local window = tonumber(ARGV[2 * i + 1])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ms - window)
    if redis.call('ZCARD', key) >= limit then
        local oldest = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
        local left = tonumber(oldest[2]) + window - ms
        if left < 1 then left = 1 end
        if left > wait then wait = left end
    end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, ms, ARGV[1])
    redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class RedisAttempts(Attempts):
    """Moving windows in Redis sorted sets; in-process counting while Redis is away."""

    def __init__(self, url: str, prefix: str = "todohub:") -> None:
        self._url, self._prefix = url, prefix
        self._client: Redis | None = None
        self._fallback = MemoryAttempts()
        self._failing = False

    async def start(self) -> None:
        """Create the client (connections are made on first use)."""
        self._client = Redis.from_url(self._url, socket_timeout=2.0, socket_connect_timeout=2.0)

    async def stop(self) -> None:
        """Close the client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _name(self, key: str) -> str:
        return f"{self._prefix}attempts:{hashlib.sha256(key.encode()).hexdigest()}"

    def _fault(self, exc: BaseException) -> None:
        if not self._failing:
            log.warning("Redis unavailable for attempt limits (%s); counting in this process "
                        "until it answers", exc.__class__.__name__)
        self._failing = True

    def _healed(self) -> None:
        if self._failing:
            log.info("Redis answers again; attempt limits are shared again")
        self._failing = False

    async def reserve(self, rules: Sequence[Rule]) -> Reservation | float:
        """Record one attempt under every rule's key in Redis when all have room."""
        active = [rule for rule in rules if rule.limit > 0]
        if not active:
            return Reservation(uuid.uuid4().hex, ())
        assert self._client is not None, "start() first"
        attempt = uuid.uuid4().hex
        args: list[Any] = [attempt]
        for rule in active:
            args += [rule.limit, max(1, int(rule.window * 1000))]
        try:
            waited = await cast(Any, self._client.eval(
                RESERVE, len(active), *(self._name(rule.key) for rule in active), *args))
        except FAULTS as exc:
            self._fault(exc)
            return await self._fallback.reserve(active)
        self._healed()
        if int(waited) > 0:
            return int(waited) / 1000
        return Reservation(attempt, tuple(rule.key for rule in active))

    async def release(self, reservation: Reservation) -> None:
        """Take the attempt back from every key."""
        await self._fallback.release(reservation)
        if not reservation.keys or self._client is None:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key in reservation.keys:
                    pipe.zrem(self._name(key), reservation.attempt)
                await pipe.execute()
        except FAULTS as exc:
            self._fault(exc)

    async def clear(self, key: str) -> None:
        """Forget the key in Redis (and in this process)."""
        await self._fallback.clear(key)
        if self._client is None:
            return
        try:
            await self._client.delete(self._name(key))
        except FAULTS as exc:
            self._fault(exc)
