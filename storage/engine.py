"""The async engines: one writer and a reader pool on SQLite, one pool on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def _sqlite_hooks(engine: AsyncEngine, begin: str) -> None:
    """Let SQLAlchemy emit BEGIN itself so that SAVEPOINT isolates (SQLite dialect docs)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


class Database:
    """Owns the engines; hands out connections in a transaction for writing or reading."""

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            # One writer connection (SQLite serialises writers anyway); BEGIN IMMEDIATE takes
            # the write lock up front so a transaction never fails upgrading it.
            self.writer = create_async_engine(url, pool_size=1, max_overflow=0)
            _sqlite_hooks(self.writer, "BEGIN IMMEDIATE")
            self.reader = create_async_engine(url, pool_size=4, max_overflow=4)
            _sqlite_hooks(self.reader, "BEGIN")
        else:
            self.writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
            )
            self.reader = self.writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a write transaction, committed on success."""
        async with self.writer.begin() as conn:
            yield conn

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
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def migration_engine(url: str) -> AsyncEngine:
    """A throwaway engine for running migrations."""
    return create_async_engine(url, poolclass=NullPool)
