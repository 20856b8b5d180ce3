"""The read paths of hellos: one read plan per group of hellos, on the SQLite driver path
(one hand-off to aiosqlite's thread) or through SQLAlchemy for any other database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam

from storage import hellos, plans
from storage.drivers import sqlite
from storage.engine import Database
from storage.hellos import HelloAsk, HelloState

_PLAIN = hellos.statements(lambda column, name: column.in_(bindparam(name, expanding=True)))


async def read_hellos(db: Database, asks: Sequence[HelloAsk], page: int) -> list[HelloState]:
    """What each hello of ``asks`` reads (storage.hellos), in one read transaction."""
    if db.is_sqlite:
        async with db.reader.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            if sqlite.usable(driver):
                return await sqlite.read(driver, conn.dialect,
                                         hellos.hellos(asks, page, sqlite.HELLOS))
    async with db.read(consistent=True) as conn:
        return await plans.run(conn, hellos.hellos(asks, page, _PLAIN))
