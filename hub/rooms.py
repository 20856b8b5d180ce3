"""Rooms: the sockets (and long-poll waiters) of one user in this process.

A room subscribes its broker channel when its first member joins and unsubscribes when the
last one leaves. What arrives on the channel is an envelope of one letter and a payload:

- ``c<seq>:<frame>``: a change frame with its seq;
- ``p<frame>``: a presence frame, sent as it is;
- ``r<session id>`` or ``r*``: sessions revoked; their sockets close with 4401.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from hub.brokers.base import Broker

log = logging.getLogger("todohub.rooms")


class Member(Protocol):
    """What a room delivers to: a socket's session or a long-poll waiter."""

    def deliver_change(self, seq: int, text: str) -> None: ...

    def deliver(self, text: str) -> None: ...

    def check_log(self) -> None: ...

    def revoke(self, session_id: str | None) -> None: ...


def room_name(user_id: str) -> str:
    """The broker channel of a user."""
    return f"user:{user_id}"


def change_message(seq: int, frame: str) -> str:
    """The broker message carrying a change."""
    return f"c{seq}:{frame}"


def presence_message(frame: str) -> str:
    """The broker message carrying a presence frame."""
    return f"p{frame}"


def revoke_message(session_id: str | None) -> str:
    """The broker message revoking one session, or all of a user's (None)."""
    return f"r{session_id or '*'}"


class _Room:
    def __init__(self) -> None:
        self.members: set[Member] = set()
        self.ready: asyncio.Future[None] | None = None


class Rooms:
    """Every room of this process, fed by the broker."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._rooms: dict[str, _Room] = {}
        # Subscribe and unsubscribe calls reach the broker in the order they were made.
        self._lock = asyncio.Lock()
        broker.bind(self.deliver, self.check_logs)

    def __len__(self) -> int:
        return len(self._rooms)

    async def join(self, user_id: str, member: Member) -> None:
        """Add ``member``; returns once the room receives its channel."""
        room = self._rooms.get(user_id)
        if room is None:
            room = self._rooms[user_id] = _Room()
            room.ready = asyncio.ensure_future(self._subscribe(room_name(user_id)))
        room.members.add(member)
        assert room.ready is not None
        await asyncio.shield(room.ready)

    async def leave(self, user_id: str, member: Member) -> None:
        """Remove ``member``; the last one out unsubscribes the channel."""
        room = self._rooms.get(user_id)
        if room is None or member not in room.members:
            return
        room.members.discard(member)
        if not room.members:
            del self._rooms[user_id]
            async with self._lock:
                await self._broker.unsubscribe(room_name(user_id))

    async def _subscribe(self, name: str) -> None:
        async with self._lock:
            await self._broker.subscribe(name)

    def members(self, user_id: str) -> list[Member]:
        """The members of a user's room here."""
        room = self._rooms.get(user_id)
        return list(room.members) if room else []

    def deliver(self, name: str, message: str) -> None:
        """Hand a broker message to every member of its room (never awaits a socket)."""
        room = self._rooms.get(name.removeprefix("user:"))
        if room is None or not message:
            return
        kind, payload = message[0], message[1:]
        if kind == "c":
            seq_text, _, frame = payload.partition(":")
            try:
                seq = int(seq_text)
            except ValueError:
                log.warning("dropping a broker message with a bad seq: %.40r", message)
                return
            for member in list(room.members):
                member.deliver_change(seq, frame)
        elif kind == "p":
            for member in list(room.members):
                member.deliver(payload)
        elif kind == "r":
            session_id = None if payload == "*" else payload
            for member in list(room.members):
                member.revoke(session_id)
        else:
            log.warning("dropping a broker message of unknown kind: %.40r", message)

    def check_logs(self) -> None:
        """After a broker outage: every member looks in the log for what it missed."""
        for room in list(self._rooms.values()):
            for member in list(room.members):
                member.check_log()
