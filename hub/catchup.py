"""Bringing a device up to date: replay from the log when ``since`` is within it, a snapshot
otherwise (``storage.changes.replayable``); and reading the log for a sender's gap fill. No
session is held across a write.

Hellos that arrive together read together: the reads of the hellos waiting while one group
is in flight go in the next group's one read transaction (storage.hellos), which also looks
up their sessions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hub import protocol
from hub.errors import ErrorCode, HubError
from hub.grouping import Grouped
from storage.changes import frames_between, in_log, log_position
from storage.engine import Database
from storage.hellos import HelloAsk, HelloState
from storage.reader import read_hellos

Send = Callable[[str], Awaitable[None]]

# Hellos in one read (each resuming one is a statement; well under SQLite's parameter limit).
MAX_GROUP = 500
# Turns of the event loop the first hello of a burst waits while others keep joining it:
# a group of five costs little more than a group of one (measured in docs/benchmarks.md).
LINGER = 12


def check_retained(since: int, pruned: int) -> None:
    """HubError(conflict) when changes after ``since`` are no longer in the log: a reader
    without snapshots (REST, the change stream) must start again from /api/todos."""
    if not in_log(since, pruned):
        raise HubError(
            ErrorCode.CONFLICT,
            f"changes after {since} are no longer kept (the log starts after {pruned}); "
            "read /api/todos for the current state",
        )


class CatchUp:
    """Log reads for one user's sockets."""

    def __init__(self, db: Database, snapshot_page: int, replay_page: int) -> None:
        self._db = db
        self._snapshot_page = snapshot_page
        self._replay_page = replay_page
        self._hellos: Grouped[HelloAsk, HelloState] = Grouped(self._read, MAX_GROUP, LINGER)

    async def _read(self, asks: Any) -> list[HelloState]:
        return await read_hellos(self._db, asks, self._replay_page)

    async def head(self, user_id: str) -> int:
        """The user's current seq."""
        async with self._db.read() as conn:
            seq, _ = await log_position(conn, user_id)
        return seq

    async def position(self, user_id: str) -> tuple[int, int]:
        """The user's current seq and the highest seq no longer in the log."""
        async with self._db.read() as conn:
            return await log_position(conn, user_id)

    async def fill(self, user_id: str, after: int, upto: int) -> list[tuple[int, str]]:
        """Change frames after ``after`` up to ``upto``, one page."""
        async with self._db.read() as conn:
            return await frames_between(conn, user_id, after, upto, self._replay_page)

    async def begin(self, user_id: str, since: int | None,
                    session_id: str | None = None) -> HelloState:
        """What a hello at ``since`` needs (and its session, when ``session_id`` is
        given), read together with the hellos that wait alongside it."""
        return await self._hellos(HelloAsk(user_id, since, session_id))

    async def run(
        self, send: Send, user: dict[str, Any], device: str, since: int | None,
        state: HelloState, expires_at: int, heartbeat: float,
    ) -> int:
        """Send welcome, the missed changes or a snapshot (as ``begin`` read them) and
        synced; returns synced's seq."""
        user_id = user["id"]
        assert state.position is not None
        if state.frames is not None:
            assert since is not None
            seq = state.position[0]
            await send(protocol.welcome(user, device, seq, expires_at, heartbeat))
            page = state.frames
            done = since
            while done < seq:
                if not page:
                    page = await self.fill(user_id, done, seq)
                    if not page:
                        break
                for change_seq, frame in page:
                    await send(frame)
                    done = change_seq
                page = []
        else:
            snapshot = state.snapshot
            assert snapshot is not None
            seq = snapshot.seq
            await send(protocol.welcome(user, device, seq, expires_at, heartbeat))
            size = self._snapshot_page
            todos = snapshot.todos
            pages = [todos[i:i + size] for i in range(0, len(todos), size)] or [[]]
            for index, part in enumerate(pages):
                await send(protocol.snapshot(seq, part, more=index < len(pages) - 1,
                                             lists=snapshot.lists if index == 0 else None))
        await send(protocol.synced(seq))
        return seq
