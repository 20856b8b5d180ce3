"""A fresh PostgreSQL database per benchmark run, so runs never see each other's rows."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def hub_url(url: str, database: str | None = None) -> str:
    """The SQLAlchemy URL the hub uses (asyncpg driver), optionally for another database."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def reachable(url: str, timeout: float = 2.0) -> bool:
    """Whether the server of ``url`` accepts a connection."""
    try:
        conn = await asyncpg.connect(_dsn(url), timeout=timeout)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; returns its hub URL."""
    conn = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return hub_url(url, name)


async def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` (connected through the server's maintenance database)."""
    conn = await asyncpg.connect(_dsn(hub_url(url, "postgres")), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
