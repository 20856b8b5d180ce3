"""Broker backends, chosen by URL: empty or ``memory://`` in process, ``redis://`` Redis."""

from __future__ import annotations

from hub.brokers.base import Broker


def create_broker(url: str, prefix: str = "todohub:") -> Broker:
    """The broker for ``url``; Redis is imported only when asked for."""
    if not url or url.startswith("memory://"):
        from hub.brokers.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from hub.brokers.redis import RedisBroker

        return RedisBroker(url, prefix)
    raise ValueError(f"expected a broker URL of memory://, redis:// or rediss://, got {url!r}")


__all__ = ["Broker", "create_broker"]
