"""Bringing a device up to date: replay from the log when ``since`` is within it, a snapshot
otherwise; and reading the log for a sender's gap fill. No session is held across a write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hub import protocol
from hub.errors import ErrorCode, HubError
from storage.changes import frames_between, log_position
from storage.engine import Database
from storage.todos import snapshot

Send = Callable[[str], Awaitable[None]]


def check_retained(since: int, pruned: int) -> None:
    """HubError(conflict) when changes after ``since`` are no longer in the log: a reader
    without snapshots (REST, the change stream) must start again from /api/todos."""
    if since < pruned:
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

    async def run(
        self, send: Send, user: dict[str, Any], device: str, since: int | None,
        expires_at: int, heartbeat: float,
    ) -> int:
        """Send welcome, the missed changes or a snapshot, and synced; returns synced's seq."""
        user_id = user["id"]
        async with self._db.read(consistent=True) as conn:
            seq, pruned = await log_position(conn, user_id)
            replay = since is not None and pruned <= since <= seq
            if replay:
                assert since is not None
                first = await frames_between(conn, user_id, since, seq, self._replay_page)
                state = None
            else:
                state = await snapshot(conn, user_id)
                seq = state.seq
        await send(protocol.welcome(user, device, seq, expires_at, heartbeat))
        if replay:
            assert since is not None
            done = since
            page = first
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
            assert state is not None
            size = self._snapshot_page
            todos = state.todos
            pages = [todos[i:i + size] for i in range(0, len(todos), size)] or [[]]
            for index, part in enumerate(pages):
                await send(protocol.snapshot(seq, part, more=index < len(pages) - 1,
                                             lists=state.lists if index == 0 else None))
        await send(protocol.synced(seq))
        return seq
