"""Presence backends, chosen like the broker: in memory, or Redis for several processes."""

from __future__ import annotations

from hub.brokers import REDIS_SCHEMES
from hub.presence.base import Presence


def create_presence(url: str, prefix: str = "todohub:", ttl: float = 30.0) -> Presence:
    """The presence store for a broker URL: in memory, or Redis entries living ``ttl`` s."""
    if not url or url.startswith("memory://"):
        from hub.presence.memory import MemoryPresence

        return MemoryPresence()
    if url.startswith(REDIS_SCHEMES):
        from hub.presence.redis import RedisPresence

        return RedisPresence(url, prefix, ttl)
    raise ValueError(f"expected a presence URL of memory:// or a Redis URL, got {url!r}")


__all__ = ["Presence", "create_presence"]
