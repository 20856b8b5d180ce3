"""Presence in Redis, shared by every hub process: entries that expire unless refreshed.

One hash per user, ``<prefix>presence:<user>``, maps each socket (``conn_id``) to its entry as
JSON with an ``expires`` time (Unix seconds). The owning process rewrites its entries every
``ttl / 3`` seconds; a reader ignores expired ones. On the same tick each process removes the
expired entries of the users it holds sockets of and, when it removed some (another process
died) or had to write its own back (Redis lost them), calls ``on_expired`` so that the hub
publishes a fresh presence frame. The devices of a killed process so drop out within about
``ttl + ttl / 3`` seconds. The processes' clocks must agree to well within ``ttl``.

While Redis is away nothing raises: this process answers with its own sockets, and the next
refresh after Redis is back writes them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from hub.presence.base import OnExpired, Presence, unique_devices

log = logging.getLogger("todohub.presence.redis")

FAULTS = (RedisError, OSError)


class RedisPresence(Presence):
    """Online sockets per user in Redis hashes, refreshed by their owning process."""

    def __init__(self, url: str, prefix: str = "todohub:", ttl: float = 30.0) -> None:
        self._url, self._prefix, self._ttl = url, prefix, ttl
        self._mine: dict[str, dict[str, dict[str, Any]]] = {}  # user -> conn_id -> entry
        self._client: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._on_expired: OnExpired | None = None
        self._failing = False

    def set_on_expired(self, callback: OnExpired) -> None:
        """Await ``callback(user_id)`` when a user's devices changed by expiry."""
        self._on_expired = callback

    async def start(self) -> None:
        """Create the client and start refreshing."""
        # A bounded pool that waits for a free connection, so that many sockets joining at
        # once queue up instead of failing past the default pool's limit.
        pool = BlockingConnectionPool.from_url(
            self._url, max_connections=64, timeout=2.0, decode_responses=True,
            socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 1))
        self._client = Redis.from_pool(pool)
        self._task = asyncio.create_task(self._refresh_forever(), name="todohub-presence")

    async def stop(self) -> None:
        """Stop refreshing and remove this process's entries."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    for user_id, sockets in list(self._mine.items()):
                        await self._guard(self._client.hdel(self._key(user_id), *sockets))
            await self._client.aclose()
        self._mine.clear()
        self._client = self._task = None

    async def join(self, user_id: str, conn_id: str, entry: dict[str, Any]) -> None:
        """Record a socket here and in Redis."""
        self._mine.setdefault(user_id, {})[conn_id] = entry
        await self._guard(self._write(user_id))

    async def leave(self, user_id: str, conn_id: str) -> None:
        """Forget a socket here and in Redis."""
        sockets = self._mine.get(user_id, {})
        sockets.pop(conn_id, None)
        if not sockets:
            self._mine.pop(user_id, None)
        if self._client is not None:
            await self._guard(self._client.hdel(self._key(user_id), conn_id))

    async def devices(self, user_id: str) -> list[dict[str, Any]]:
        """The user's devices on every process (only this one's while Redis is away)."""
        stored = await self._guard(self._entries(user_id)) or {}
        now = time.time()
        entries = dict(self._mine.get(user_id, {}))
        for conn, text in stored.items():
            data = _decode(text)
            if data is not None and data.pop("expires", 0) > now:
                entries.setdefault(conn, data)
        return unique_devices(list(entries.values()))

    def _key(self, user_id: str) -> str:
        return f"{self._prefix}presence:{user_id}"

    async def _write(self, user_id: str) -> int:
        """Write (refresh) this process's entries of a user; the number newly added."""
        assert self._client is not None
        expires = time.time() + self._ttl
        fields: dict[Any, Any] = {conn: json.dumps({**entry, "expires": expires})
                                  for conn, entry in self._mine.get(user_id, {}).items()}
        if not fields:
            return 0
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(self._key(user_id), mapping=fields)
            pipe.pexpire(self._key(user_id), int(self._ttl * 2000))
            added, _ = await pipe.execute()
        return int(added)

    async def _sweep(self, user_id: str) -> int:
        """Remove a user's expired entries; the number removed (by this process)."""
        assert self._client is not None
        now = time.time()
        stale = [conn for conn, text in (await self._entries(user_id)).items()
                 if conn not in self._mine.get(user_id, {})
                 and (_decode(text) or {}).get("expires", 0) <= now]
        return int(await self._client.hdel(self._key(user_id), *stale)) if stale else 0

    async def _entries(self, user_id: str) -> dict[str, str]:
        """Every stored entry of a user (text, as the client decodes responses)."""
        if self._client is None:  # stopped: this process's sockets only
            return {}
        return cast(dict[str, str], await self._client.hgetall(self._key(user_id)))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            for user_id in list(self._mine):
                try:
                    changed = (await self._guard(self._write(user_id)) or 0) + (
                        await self._guard(self._sweep(user_id)) or 0)
                    if changed and self._on_expired is not None:
                        await self._on_expired(user_id)
                except Exception:
                    log.exception("presence refresh of user %s failed", user_id)

    async def _guard(self, call: Any) -> Any:
        """Await a Redis call; on an outage log once, return None and carry on."""
        try:
            result = await call
        except FAULTS as exc:
            if not self._failing:
                log.warning("presence cannot reach Redis (%s); listing this process's "
                            "sockets only until it is back", exc.__class__.__name__)
            self._failing = True
            return None
        if self._failing:
            log.info("presence reaches Redis again")
            self._failing = False
        return result


def _decode(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
