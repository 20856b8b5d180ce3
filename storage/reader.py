"""The read paths of hellos: one read plan per group of hellos, on the SQLite driver path
(on the event loop, or in one hand-off to aiosqlite's thread) or through SQLAlchemy for any
other database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import DBAPIError

from storage import hellos, plans
from storage.drivers import sqlite
from storage.engine import Database
from storage.hellos import HelloAsk, HelloState

_PLAIN = hellos.statements(lambda column, name: column.in_(bindparam(name, expanding=True)))


async def read_hellos(db: Database, asks: Sequence[HelloAsk], page: int) -> list[HelloState]:
    """What each hello of ``asks`` reads (storage.hellos), in one read transaction."""
    if db.on_loop:
        raw = await db.loop_reader()
        if sqlite.usable(raw.driver):
            try:
                return await sqlite.read(raw.driver, raw.dialect,
                                         hellos.hellos(asks, page, sqlite.HELLOS), on_loop=True)
            except sqlite.Busy:
                pass  # another process holds a lock: read in a pooled connection's thread
            except DBAPIError:
                await db.drop_loop_reader()
                raise
    if db.is_sqlite:
        async with db.reader.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            if sqlite.usable(driver):
                return await sqlite.read(driver, conn.dialect,
                                         hellos.hellos(asks, page, sqlite.HELLOS))
    async with db.read(consistent=True) as conn:
        return await plans.run(conn, hellos.hellos(asks, page, _PLAIN))
