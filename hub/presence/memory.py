"""Presence kept in a dict: the default for one hub process."""

from __future__ import annotations

from typing import Any

from hub.presence.base import Presence, unique_devices


class MemoryPresence(Presence):
    """Online sockets per user, in this process only."""

    def __init__(self) -> None:
        self._users: dict[str, dict[str, dict[str, Any]]] = {}

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Forget everything."""
        self._users.clear()

    async def join(self, user_id: str, conn_id: str, entry: dict[str, Any]) -> None:
        """Record a socket."""
        self._users.setdefault(user_id, {})[conn_id] = entry

    async def leave(self, user_id: str, conn_id: str) -> None:
        """Remove a socket."""
        sockets = self._users.get(user_id)
        if sockets is not None:
            sockets.pop(conn_id, None)
            if not sockets:
                del self._users[user_id]

    async def devices(self, user_id: str) -> list[dict[str, Any]]:
        """The user's devices online in this process."""
        return unique_devices(list(self._users.get(user_id, {}).values()))
