"""The writer that groups: a whole group of commands in one transaction, by the fastest path
the database offers.

- SQLite through aiosqlite: storage.drivers.sqlite (on the event loop, or in one hand-off to
  the driver's thread);
- PostgreSQL through asyncpg: storage.drivers.postgres (five round trips);
- any other driver: storage.drivers.core, the plain SQLAlchemy path.

Every path applies the same rules (storage.rules) and gives the same outcomes and rows.
List commands and membership writes (storage.list_commands) are written in a transaction of
their own through SQLAlchemy; the dispatcher never groups them with todo commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage import list_commands, rules
from storage.clock import utcnow
from storage.drivers import postgres, sqlite
from storage.drivers.core import apply_group
from storage.engine import Database
from storage.todos import new_todo_id
from storage.types import Limits

# A group whose lists gained a member between its first reads and its locks is read again.
STALE_RETRIES = 5


async def write_group(db: Database, items: Sequence[rules.Item], clock: rules.Clock = utcnow,
                      new_id: rules.NewId = new_todo_id,
                      limits: Limits | None = None) -> list[rules.Outcome]:
    """Apply each ``(user id, command, device)`` in order, in one transaction that this
    function begins and commits; each outcome is the command's Applied or the
    CommandRejected that refused it (and changed nothing). A database error rolls the whole
    group back and propagates (as SQLAlchemy's DBAPIError)."""
    writer = GroupWriter(db, clock, new_id, limits)
    try:
        return await writer.write(items)
    finally:
        await writer.close()


class GroupWriter:
    """Writes groups of commands (see :func:`write_group`) for one writer task.

    On PostgreSQL it keeps its connection from one group to the next: checking one out of
    the pool costs a round trip (pre-ping) and a reset per group. The connection is only ever
    used between a group's BEGIN and COMMIT; on any error it is thrown away and the next
    group checks out a fresh one. On SQLite it takes the process's write lock per group and
    writes on the connection the Database keeps for it (``Database.fast_write``).
    ``clock`` and ``new_id`` give each command's time and the ids of new todos.
    """

    def __init__(self, db: Database, clock: rules.Clock = utcnow,
                 new_id: rules.NewId = new_todo_id, limits: Limits | None = None) -> None:
        self._db = db
        self._clock = clock
        self._new_id = new_id
        self._limits = limits or Limits()
        self._held: AsyncConnection | None = None

    async def write(self, items: Sequence[rules.Item]) -> list[rules.Outcome]:
        """Apply ``items`` in one transaction (see :func:`write_group`); a group mixing list
        commands with todo commands is written as consecutive runs of one kind."""
        outcomes: list[rules.Outcome] = []
        start = 0
        while start < len(items):
            kind = list_commands.is_list_command(items[start][1])
            end = start + 1
            while end < len(items) and list_commands.is_list_command(items[end][1]) == kind:
                end += 1
            run = items[start:end]
            if kind:
                await self.close()
                async with self._db.write() as conn:
                    outcomes += await list_commands.apply_group(conn, run, self._limits)
            else:
                outcomes += await self._todos(run)
            start = end
        return outcomes

    async def _todos(self, items: Sequence[rules.Item]) -> list[rules.Outcome]:
        for attempt in range(STALE_RETRIES):
            try:
                return await self._todos_once(items)
            except rules.StaleRead:
                if attempt == STALE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _todos_once(self, items: Sequence[rules.Item]) -> list[rules.Outcome]:
        driver: Any
        if self._db.is_sqlite:
            async with self._db.fast_write() as raw:
                if sqlite.usable(raw.driver):
                    outcomes = await sqlite.write(raw.driver, raw.dialect, items, self._clock,
                                                  self._new_id, on_loop=self._db.on_loop)
                    self._db.committed()
                    return outcomes
        else:
            fresh = self._held is None
            conn = self._held = self._held or await self._db.writer.connect()
            try:
                driver = (await conn.get_raw_connection()).driver_connection
                if postgres.usable(driver):
                    if fresh:
                        await driver.execute(postgres.PREPARE)
                    return await postgres.write(driver, conn.dialect, items, self._clock,
                                                self._new_id)
            except BaseException:
                await self._drop()
                raise
        await self.close()  # a held connection must not wait while the pool serves this
        async with self._db.write() as conn:
            return await apply_group(conn, items, self._clock, self._new_id)

    async def close(self) -> None:
        """Give the held connection back to the pool (as it found it)."""
        conn, self._held = self._held, None
        if conn is not None:
            try:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                if postgres.usable(driver):
                    await driver.execute(postgres.RESET)
            except BaseException:
                await conn.invalidate()
                raise
            finally:
                await conn.close()

    async def _drop(self) -> None:
        conn, self._held = self._held, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()
