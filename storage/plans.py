"""Read plans: a read of several steps written once, without I/O, run by any driver.

A plan is a generator that yields a list of queries (a step: statements that do not depend
on each other) and receives their rows, one list per query, until it returns its result.
The plain path runs it through SQLAlchemy on a connection in a read transaction
(``run``); the SQLite driver path runs the whole plan at once, on the event loop or in one
hand-off to aiosqlite's thread (storage.drivers.sqlite.read). Both give the same rows, so
both give the same result.

A plan's statements take their lists through ``listed(column, name)`` (see
storage.statements): each driver builds the statements it runs with its own way of passing a
list.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


class Query(NamedTuple):
    """One statement of a step and its parameters (a list parameter passed by ``listed``)."""

    statement: Any
    values: dict[str, Any]


Rows = list[Any]  # rows read by attribute (and position), as SQLAlchemy gives them
Plan = Generator[list[Query], list[Rows], T]


async def run(conn: AsyncConnection, plan: Plan[T]) -> T:
    """Run ``plan`` through SQLAlchemy on ``conn`` (in the caller's transaction)."""
    try:
        step = next(plan)
        while True:
            found: list[Rows] = []
            for query in step:
                found.append(list((await conn.execute(query.statement, query.values)).all()))
            step = plan.send(found)
    except StopIteration as done:
        result: T = done.value
        return result
