"""Broker backends, chosen by URL: empty or ``memory://`` in process, ``redis://`` Redis."""

from __future__ import annotations

from hub.brokers.base import Broker

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def reaches_other_processes(url: str) -> bool:
    """Whether the broker at ``url`` connects hub processes (Redis), unlike the in-process one."""
    return url.startswith(REDIS_SCHEMES)


def create_broker(url: str, prefix: str = "todohub:") -> Broker:
    """The broker for ``url``; Redis is imported only when asked for."""
    if not url or url.startswith("memory://"):
        from hub.brokers.memory import MemoryBroker

        return MemoryBroker()
    if reaches_other_processes(url):
        from hub.brokers.redis import RedisBroker

        return RedisBroker(url, prefix)
    raise ValueError(
        f"expected a broker URL of memory://, redis://, rediss:// or unix://, got {url!r}")


__all__ = ["REDIS_SCHEMES", "Broker", "create_broker", "reaches_other_processes"]
