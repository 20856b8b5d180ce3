"""The in-process broker: the default for one hub process, with nothing to install."""

from __future__ import annotations

from hub.brokers.base import Broker


class MemoryBroker(Broker):
    """Delivers each published message to this process's subscribed rooms, synchronously."""

    immediate = True

    def __init__(self) -> None:
        super().__init__()
        self._rooms: set[str] = set()

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Forget every subscription."""
        self._rooms.clear()

    async def publish(self, room: str, message: str) -> None:
        """Hand ``message`` to the room at once when it is subscribed."""
        if room in self._rooms:
            self._on_message(room, message)

    async def subscribe(self, room: str) -> None:
        """Mark ``room`` as subscribed."""
        self._rooms.add(room)

    async def unsubscribe(self, room: str) -> None:
        """Unmark ``room``."""
        self._rooms.discard(room)

    async def healthy(self) -> bool:
        """Always reachable."""
        return True
