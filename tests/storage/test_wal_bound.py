"""SQLite's write-ahead log stays near its limit under steady writes: commits that never
pause let no passive checkpoint catch up with the writer, and without the rewind
(storage.engine.Database._rewind) the log grew by every commit's pages for as long as the
writes went on. Real commands through the hub's writer, on the loop and in the thread."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from storage.engine import Database
from storage.migrate import upgrade
from storage.models import list_members, lists, todos, users
from storage.types import Command, CreateOp, TodoIn
from storage.writer import GroupWriter

NOW = "2026-01-01T00:00:00.000Z"
USER = str(uuid.UUID(int=1))
COMMANDS = 1500  # unbounded, the log would pass 60 MB (about 45 KB for each)
LIMIT_MB = 1


@pytest.mark.parametrize("on_loop", [True, False], ids=["on-loop", "in-thread"])
async def test_log_stays_bounded_under_steady_writes(tmp_path: Path, on_loop: bool) -> None:
    path = tmp_path / "wal.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    db = Database(url, on_loop=on_loop, wal_limit_mb=LIMIT_MB)
    wal = Path(f"{path}-wal")
    try:
        async with db.write() as conn:
            await conn.execute(insert(users), [{"id": USER, "username": "u", "seq": 0,
                                                "pruned_seq": 0, "created_at": NOW,
                                                "guest": False}])
            inbox = str(uuid.UUID(int=2))
            await conn.execute(insert(lists), [{"id": inbox, "name": "Inbox", "inbox": True,
                                                "owner_id": USER, "version": 1,
                                                "created_at": NOW, "updated_at": NOW}])
            await conn.execute(insert(list_members), [{"list_id": inbox, "user_id": USER,
                                                       "role": "owner", "joined_at": NOW}])
        writer = GroupWriter(db)
        largest = 0
        for n in range(COMMANDS):
            # Long titles, so that each commit writes several pages.
            op = CreateOp(type="create", todo=TodoIn(title=f"{n} " + "x" * 190))
            [outcome] = await writer.write([(USER, Command(f"op{n}", [op]), "d")])
            assert not isinstance(outcome, Exception), outcome
            largest = max(largest, wal.stat().st_size)
            # A group on the loop never waits; in the hub the loop serves sockets between
            # groups, and so the checkpoint's hand-offs.
            await asyncio.sleep(0)
        await writer.close()
        async with db.read() as conn:
            assert await conn.scalar(select(func.count()).select_from(todos)) == COMMANDS
        # The limit, what 100 commits (one checkpoint's interval) add, and the commits made
        # while a checkpoint runs: a few times the limit, never the sum of every commit.
        assert largest < 16 * LIMIT_MB * 2**20, f"the log reached {largest / 2**20:.1f} MB"
    finally:
        await db.dispose()
