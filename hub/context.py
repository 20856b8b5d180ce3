"""The parts of a running hub, built once by hub.app and handed to sessions and routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from auth.passwords import Hasher
from auth.tokens import TokenIssuer
from hub import protocol
from hub.attempts import Attempts
from hub.brokers.base import Broker
from hub.catchup import CatchUp
from hub.config import Settings
from hub.dispatch import Dispatcher
from hub.grouping import PerKey
from hub.metrics import Metrics
from hub.presence.base import Presence
from hub.rooms import Rooms, presence_message, revoke_message, room_name
from storage.engine import Database


@dataclass
class HubContext:
    """Everything a session or a route needs."""

    settings: Settings
    db: Database
    broker: Broker
    presence: Presence
    rooms: Rooms
    dispatcher: Dispatcher
    catchup: CatchUp
    issuer: TokenIssuer
    hasher: Hasher
    metrics: Metrics
    attempts: Attempts
    refresh_key: bytes = b""

    _presence: PerKey | None = field(default=None, repr=False)

    async def publish_presence(self, user_id: str) -> None:
        """Tell every device of the user which devices are online now (once for the
        joins and leaves of one turn of the event loop: a burst of hellos)."""
        if self._presence is None:
            self._presence = PerKey(self._publish_presence)
        await self._presence(user_id)

    async def _publish_presence(self, user_id: str) -> None:
        devices = await self.presence.devices(user_id)
        await self.broker.publish(room_name(user_id), presence_message(protocol.presence(devices)))

    async def publish_revocation(self, user_id: str, session_id: str | None) -> None:
        """Close the sockets of one session of the user, or of all (None), on every process."""
        await self.broker.publish(room_name(user_id), revoke_message(session_id))
