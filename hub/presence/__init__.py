"""Presence backends, chosen like the broker: in memory, or Redis for several processes."""

from __future__ import annotations

from hub.presence.base import Presence


def create_presence(url: str, prefix: str = "todohub:", ttl: float = 30.0) -> Presence:
    """The presence store for a broker URL."""
    if not url or url.startswith("memory://"):
        from hub.presence.memory import MemoryPresence

        return MemoryPresence()
    from hub.presence.redis import RedisPresence

    return RedisPresence(url, prefix, ttl)


__all__ = ["Presence", "create_presence"]
