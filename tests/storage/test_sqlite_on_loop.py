"""SQLite's statements on the event loop never make the loop wait for a lock: a write that
finds the database locked by another process waits for it in aiosqlite's thread while the
loop goes on, then lands; a read that would wait says so before its plan starts."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from storage import plans
from storage.drivers import sqlite as driver_path
from storage.engine import Database
from storage.migrate import upgrade
from storage.types import Applied, Command, parse_op
from storage.users import create_user
from storage.writer import GroupWriter


def _create(title: str) -> Command:
    return Command(None, [parse_op({"type": "create", "todo": {"title": title}})])


def _hold_write_lock(path: Path, taken: threading.Event, release: threading.Event) -> None:
    """What another process writing to the same file does: hold the write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        release.wait(30)
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_locked_database_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    """While another connection holds the write lock, a group write waits in the driver's
    thread (the loop runs meanwhile), lands once the lock is free, and the next group is
    written on the loop again with a busy timeout of 0."""
    path = tmp_path / "hub.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    db = Database(url)
    assert db.on_loop
    writer = GroupWriter(db)
    try:
        async with db.write() as conn:
            user = await create_user(conn, "ann", None)
        (first,) = await writer.write([(user.id, _create("before"), "d")])
        assert isinstance(first, Applied)

        taken, release = threading.Event(), threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(path, taken, release))
        holder.start()
        try:
            assert await asyncio.to_thread(taken.wait, 10)
            pending = asyncio.ensure_future(writer.write([(user.id, _create("held"), "d")]))
            await asyncio.sleep(0.2)  # the loop runs while the write waits for the lock
            assert not pending.done()
        finally:
            release.set()
            await asyncio.to_thread(holder.join)
        (held,) = await asyncio.wait_for(pending, 20)
        assert isinstance(held, Applied)
        assert [c.seq for c in held.changes] == [2]

        (after,) = await writer.write([(user.id, _create("after"), "d")])
        assert isinstance(after, Applied) and [c.seq for c in after.changes] == [3]
        async with db.fast_write() as raw:
            assert raw.driver._conn.execute("PRAGMA busy_timeout").fetchone() == (0,)
    finally:
        await writer.close()
        await db.dispose()


def _exclusive(path: Path) -> sqlite3.Connection:
    """A connection holding the database in exclusive locking mode: no one else may read."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("COMMIT")
    return other


async def test_a_read_that_would_wait_says_busy_before_its_plan_starts(tmp_path: Path) -> None:
    """``read(on_loop=True)`` on a locked database raises Busy and leaves the plan unstarted
    and the connection out of any transaction; once the lock is gone the same read works."""
    path = tmp_path / "hub.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_async_engine(url)
    started: list[bool] = []

    def counting() -> plans.Plan[int]:
        started.append(True)
        (rows,) = yield [plans.Query(driver_path.HELLOS.positions, {"users": ["nobody"]})]
        return len(rows)

    holder = _exclusive(path)
    connection = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await connection.execute("PRAGMA busy_timeout=0")
        with pytest.raises(driver_path.Busy):
            await driver_path.read(connection, engine.dialect, counting(), on_loop=True)
        assert started == []
        assert not connection.in_transaction
        holder.close()
        assert await driver_path.read(connection, engine.dialect, counting(),
                                      on_loop=True) == 0
        assert started == [True]
    finally:
        await connection.close()
        await engine.dispose()
