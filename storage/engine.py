"""The async engines: one writer and a reader pool on SQLite, one pool on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, PoolResetState

log = logging.getLogger("todohub.storage")

# Commits between two checkpoints of SQLite's write-ahead log (a command group writes a
# handful of pages; SQLite's own checkpoint came every 1,000 pages).
CHECKPOINT_EVERY = 100
# Megabytes the write-ahead log may grow to before a checkpoint rewinds it (see
# ``Database._run_checkpoint``), and the size SQLite cuts the file back to when it rewinds.
WAL_LIMIT_MB = 64
# How long a statement waits for another connection's lock before "database is locked".
BUSY_TIMEOUT_MS = 10_000


def _sqlite_hooks(engine: AsyncEngine, begin: str, writer: bool, wal_limit: int) -> None:
    """Let SQLAlchemy emit BEGIN itself so that SAVEPOINT isolates (SQLite dialect docs)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA journal_size_limit={wal_limit}")
        if writer:
            # A checkpoint is the one fsync of WAL mode at synchronous=NORMAL; made by the
            # commit that crosses the threshold it held that commit (and its answer) for
            # milliseconds. Database.committed() runs them on a reader connection instead.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # The engines are made with pool_reset_on_return=None: the pool's own rollback is a
        # hand-off to aiosqlite's thread on every return, and the fast paths
        # (storage.drivers.sqlite) end their transactions themselves. A connection still in
        # one is rolled back here.
        if state.asyncio_safe and not state.transaction_was_reset \
                and _in_transaction(dbapi_connection):
            dbapi_connection.rollback()


def _in_transaction(dbapi_connection: Any) -> bool:
    """Whether the aiosqlite connection under ``dbapi_connection`` is inside a transaction
    (when that cannot be told, it is taken to be)."""
    try:
        return bool(dbapi_connection.driver_connection.in_transaction)
    except (AttributeError, ValueError):
        return True


class Raw(NamedTuple):
    """A pooled connection's driver connection (aiosqlite's) and its dialect."""

    driver: Any
    dialect: Dialect


class _Kept:
    """A connection checked out of a pool for the life of the Database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._raw: Raw | None = None
        self._making = asyncio.Lock()

    async def get(self) -> Raw:
        raw = self._raw
        if raw is None:
            async with self._making:  # two first callers at once make one connection
                raw = self._raw or await self._make()
        return raw

    async def _make(self) -> Raw:
        conn = await self._engine.connect()
        try:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            # Statements on the loop never wait for a lock (storage.drivers.sqlite).
            await driver.execute("PRAGMA busy_timeout=0")
        except BaseException:
            await conn.close()
            raise
        self._conn, raw = conn, Raw(driver, conn.dialect)
        self._raw = raw
        return raw

    async def drop(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()

    async def close(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            await conn.close()


class Database:
    """Owns the engines; hands out connections in a transaction for writing or reading.

    On SQLite, ``on_loop`` lets the fast paths (storage.drivers.sqlite) run their statements
    on the event loop, on a writer and a reader connection kept for them; every write of the
    process takes one lock (``fast_write``, ``write``), as SQLite serialises writers anyway.
    """

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10,
                 on_loop: bool = True, wal_limit_mb: float = WAL_LIMIT_MB) -> None:
        self.url = url
        self.wal_limit = int(wal_limit_mb * 1024 * 1024)
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.on_loop = on_loop and self.is_sqlite
        kept = 1 if self.on_loop else 0
        if self.is_sqlite:
            # One writer connection for SQLAlchemy's writes (and one kept for the fast path);
            # BEGIN IMMEDIATE takes the write lock up front so a transaction never fails
            # upgrading it. The loop uses connections that aiosqlite made in its thread.
            shared = {"connect_args": {"check_same_thread": False}} if self.on_loop else {}
            self.writer = create_async_engine(url, pool_size=1 + kept, max_overflow=0,
                                              pool_reset_on_return=None, **shared)
            _sqlite_hooks(self.writer, "BEGIN IMMEDIATE", writer=True,
                          wal_limit=self.wal_limit)
            self.reader = create_async_engine(url, pool_size=4 + kept, max_overflow=4,
                                              pool_reset_on_return=None, **shared)
            _sqlite_hooks(self.reader, "BEGIN", writer=False, wal_limit=self.wal_limit)
        else:
            self.writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
            )
            self.reader = self.writer

        self._commits = 0
        self._page: int | None = None
        self._checkpoint: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._kept_writer = _Kept(self.writer)
        self._kept_reader = _Kept(self.reader)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a write transaction, committed on success."""
        async with self._write_lock if self.is_sqlite else nullcontext(), \
                self.writer.begin() as conn:
            yield conn
        self.committed()

    @asynccontextmanager
    async def fast_write(self) -> AsyncIterator[Raw]:
        """SQLite: the writer's driver connection for a transaction the caller begins and
        ends itself (storage.drivers.sqlite), with the process's write lock held: the kept
        connection when ``on_loop``, else the pool's. A kept one is dropped after a database
        error."""
        async with self._write_lock:
            if not self.on_loop:
                async with self.writer.connect() as conn:
                    yield Raw((await conn.get_raw_connection()).driver_connection,
                              conn.dialect)
                return
            raw = await self._kept_writer.get()
            try:
                yield raw
            except DBAPIError:
                await self._kept_writer.drop()
                raise

    async def loop_reader(self) -> Raw:
        """SQLite with ``on_loop``: the reader's driver connection kept for reads that run
        on the event loop, whole, between two awaits (storage.drivers.sqlite.read)."""
        return await self._kept_reader.get()

    async def drop_loop_reader(self) -> None:
        """Forget the kept reader (after a database error); the next read makes another."""
        await self._kept_reader.drop()

    def committed(self) -> None:
        """Count a committed write; on SQLite every ``CHECKPOINT_EVERY`` commits start a
        checkpoint of the write-ahead log beside the writer (one at a time)."""
        if not self.is_sqlite:
            return
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and (
                self._checkpoint is None or self._checkpoint.done()):
            self._commits = 0
            self._checkpoint = asyncio.ensure_future(self._run_checkpoint())

    async def _run_checkpoint(self) -> None:
        try:
            async with self.reader.connect() as conn:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                pages, _ = await self._passive(driver)
                if pages * await self._page_size(driver) > self.wal_limit:
                    await self._rewind(driver)
        except Exception as exc:  # the next one tries again; the log only grows meanwhile
            log.warning("checkpoint of the write-ahead log failed: %s", exc)

    async def _passive(self, driver: Any) -> tuple[int, int]:
        """A PASSIVE checkpoint (it copies what no reader still needs and never waits for
        the writer): the pages in the log and how many of them are copied."""
        cursor = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _, pages, copied = await cursor.fetchone()
        await cursor.close()
        return pages, copied

    async def _rewind(self, driver: Any) -> None:
        """Copy the rest of the log with this process's writes held off, so that the next
        writer starts the log again from the top.

        SQLite starts the log again only when a writer begins after a checkpoint that copied
        all of it; the writer goes on while a checkpoint copies, so there was always a newer
        commit, and under steady writes the log grew for as long as they lasted (46 MB for
        every 1,000 creates). Writes wait here for what the last checkpoint left (the
        commits made while it ran), not for the whole log."""
        async with self._write_lock:
            pages, copied = await self._passive(driver)
        size = pages * await self._page_size(driver)
        if copied < pages and size > 4 * self.wal_limit:
            log.warning("the write-ahead log holds %d MB and a reader (or another process's "
                        "writer) kept it from being copied; trying again after %d commits",
                        size // 2**20, CHECKPOINT_EVERY)

    async def _page_size(self, driver: Any) -> int:
        if self._page is None:
            cursor = await driver.execute("PRAGMA page_size")
            (self._page,) = await cursor.fetchone()
            await cursor.close()
        return self._page

    @asynccontextmanager
    async def read(self, consistent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection inside a read transaction; ``consistent`` gives one snapshot for all
        statements (REPEATABLE READ on PostgreSQL; SQLite read transactions always are)."""
        async with self.reader.connect() as conn:
            if consistent and not self.is_sqlite:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self._checkpoint is not None:
            await self._checkpoint
        async with self._write_lock:
            await self._kept_writer.close()
        await self._kept_reader.close()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def migration_engine(url: str) -> AsyncEngine:
    """A throwaway engine for running migrations."""
    return create_async_engine(url, poolclass=NullPool)
