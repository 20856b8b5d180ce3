"""Attempt limits (sign-in, registration, guests), chosen like the broker: in this process, or
in Redis so that every hub process counts the same attempts."""

from __future__ import annotations

from hub.attempts.base import Attempts, Reservation, Rule
from hub.brokers import REDIS_SCHEMES


def create_attempts(url: str, prefix: str = "todohub:") -> Attempts:
    """The attempt counters for a broker URL: in memory, or in Redis; Redis imported lazily."""
    if not url or url.startswith("memory://"):
        from hub.attempts.memory import MemoryAttempts

        return MemoryAttempts()
    if url.startswith(REDIS_SCHEMES):
        from hub.attempts.redis import RedisAttempts

        return RedisAttempts(url, prefix)
    raise ValueError(f"expected an attempts URL of memory:// or a Redis URL, got {url!r}")


__all__ = ["Attempts", "Reservation", "Rule", "create_attempts"]
