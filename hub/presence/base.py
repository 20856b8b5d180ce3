"""Presence: which devices of a user are online, across every hub process.

Entries belong to one socket (``conn_id``). A backend shared between processes (Redis) lets
entries expire unless their process refreshes them, so the devices of a process that died
drop out within ``ttl`` seconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

OnExpired = Callable[[str], Awaitable[None]]


class Presence(ABC):
    """Records sockets joining and leaving and lists a user's online devices."""

    @abstractmethod
    async def start(self) -> None:
        """Begin (connect, start refreshing)."""

    @abstractmethod
    async def stop(self) -> None:
        """End; entries of this process are removed where possible."""

    @abstractmethod
    async def join(self, user_id: str, conn_id: str, entry: dict[str, Any]) -> None:
        """Record that socket ``conn_id`` of ``user_id`` is online with ``entry``
        (device, agent, since)."""

    @abstractmethod
    async def leave(self, user_id: str, conn_id: str) -> None:
        """Remove socket ``conn_id``."""

    @abstractmethod
    async def devices(self, user_id: str) -> list[dict[str, Any]]:
        """The user's online devices, one entry per device id, the earliest ``since`` kept."""

    def set_on_expired(self, callback: OnExpired) -> None:
        """Set what to await with a user id when that user's devices changed without a join or
        leave here (another process died and its entries expired); the hub publishes presence.
        Backends without expiry never call it."""


def unique_devices(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collapse several sockets of one device into one entry, ordered by device id."""
    by_device: dict[str, dict[str, Any]] = {}
    for entry in entries:
        known = by_device.get(entry["device"])
        if known is None or entry["since"] < known["since"]:
            by_device[entry["device"]] = entry
    return [by_device[name] for name in sorted(by_device)]
