"""Bring a database to the newest schema with Alembic (also used on first start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import migration_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 7_261_120  # PostgreSQL advisory lock: one migrating process at a time.


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # A session-level lock: it outlives the commits below, and is released only after the
        # schema is committed, so the next process to take it sees the finished schema.
        connection.execute(text(f"SELECT pg_advisory_lock({_LOCK_ID})"))
        connection.commit()
    try:
        command.upgrade(config, "head")
        connection.commit()
    finally:
        if postgres:
            connection.rollback()  # after a failure: end the aborted transaction first
            connection.execute(text(f"SELECT pg_advisory_unlock({_LOCK_ID})"))
            connection.commit()


async def upgrade(url: str) -> None:
    """Create or migrate the database at ``url`` to head."""
    engine = migration_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_upgrade, url)
            await conn.commit()
    finally:
        await engine.dispose()


def _current(connection: Connection) -> Any:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = migration_engine(url)
    try:
        async with engine.connect() as conn:
            result: str | None = await conn.run_sync(_current)
            return result
    finally:
        await engine.dispose()
