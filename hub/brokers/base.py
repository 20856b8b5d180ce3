"""The broker interface: carry text to every hub process that holds a room.

Guarantees, and what they are not:

- ``publish`` is at-most-once. A message may be lost (the broker is away), arrive twice, or
  arrive in another order than it was published in, relative to other processes' messages.
  Rooms must survive all three: the change log in the database is the truth, and every
  message a room delivers is checked against it (see hub.sender).
- ``publish`` never raises for an outage; it logs and returns. While the broker is away a
  backend still delivers to the rooms of its own process, so local sockets stay live.
- After an outage, the backend calls ``on_reconnect`` once it is subscribed again, so that
  rooms can look in the log for what they missed.
- The broker knows nothing of todos: a room is a name, a message is text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

OnMessage = Callable[[str, str], None]
OnReconnect = Callable[[], None]


class Broker(ABC):
    """Publish text to a room; deliver what arrives for subscribed rooms to one callback."""

    # True when ``publish`` never waits (it hands the message over before it returns):
    # publishing side by side would then only cost tasks.
    immediate = False

    def __init__(self) -> None:
        self._on_message: OnMessage = lambda room, message: None
        self._on_reconnect: OnReconnect = lambda: None

    def bind(self, on_message: OnMessage, on_reconnect: OnReconnect) -> None:
        """Set where arriving messages go and whom to tell after a reconnect."""
        self._on_message = on_message
        self._on_reconnect = on_reconnect

    @abstractmethod
    async def start(self) -> None:
        """Connect; the broker may become available later (it retries by itself)."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and stop every background task."""

    @abstractmethod
    async def publish(self, room: str, message: str) -> None:
        """Send ``message`` to every process subscribed to ``room`` (at-most-once)."""

    @abstractmethod
    async def subscribe(self, room: str) -> None:
        """Start receiving the messages of ``room`` in this process. Returns once messages of
        the room reach this process (or at once while the broker is away: ``on_reconnect``
        follows when it is back). Rooms rely on this: catch-up reads the log only after the
        subscription is live, so no change falls between the two."""

    @abstractmethod
    async def unsubscribe(self, room: str) -> None:
        """Stop receiving the messages of ``room``."""

    @abstractmethod
    async def healthy(self) -> bool:
        """Whether the broker is reachable now."""
