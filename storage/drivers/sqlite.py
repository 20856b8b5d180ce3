"""The fast paths on SQLite: a whole group, or a whole read plan (storage.plans), in one
hand-off to the aiosqlite connection's own thread, the transaction owned here.

Through SQLAlchemy each statement costs about four hand-offs to aiosqlite's thread (cursor,
execute, fetch, close) and 300-400 us of CPU on a 2-core machine, which capped the writer
near 270 commands/s. Here a group's BEGIN IMMEDIATE, reads, rules, writes and COMMIT run
in one hand-off (the private one SQLAlchemy's aiosqlite dialect also uses): every hand-off
waits for the thread and then for the event loop, which under load costs more than the
rules it would keep on the loop. A read plan runs BEGIN, every step and ROLLBACK in one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from storage import hellos, plans, rules, statements
from storage.codec import dumps

T = TypeVar("T")

def _listed(column: Any, name: str) -> Any:
    return column.in_(select(func.json_each(bindparam(name)).table_valued("value").c.value))


_SCOPE_READS = statements.scope_reads(_listed)
_READS = statements.reads(_listed)
HELLOS = hellos.statements(_listed)


def usable(driver: Any) -> bool:
    """An aiosqlite connection that offers its thread hand-off (see ``_in_driver_thread``)."""
    return (type(driver).__module__.startswith("aiosqlite")
            and hasattr(driver, "_tx") and hasattr(driver, "_conn"))


async def _in_driver_thread(driver: Any, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work(sqlite3 connection)`` in the aiosqlite connection's thread, in one
    hand-off; a driver error becomes SQLAlchemy's DBAPIError, as for any statement."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    driver._tx.put_nowait((future, partial(work, driver._conn)))
    try:
        return await future
    except sqlite3.Error as exc:
        raise DBAPIError.instance("group commit", None, exc, sqlite3.Error) from exc


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


async def write(driver: Any, dialect: Dialect, items: Sequence[rules.Item],
                clock: rules.Clock, new_id: rules.NewId) -> list[rules.Outcome]:
    """Apply ``items`` in one transaction of their own on the aiosqlite connection
    ``driver`` (see storage.drivers.core.apply_group for the outcomes). Any failure rolls
    back."""
    first = rules.needs(items)
    scope_reads = [statements.compiled(statement, dialect) for statement in _SCOPE_READS]
    reads = [statements.compiled(statement, dialect) for statement in _READS]

    def read(db: sqlite3.Connection) -> rules.Loaded:
        db.execute("BEGIN IMMEDIATE")  # the write lock up front, as storage.engine does
        values = {"todo_ids": dumps(first.todo_ids), "actors": dumps(first.actors)}

        def rows(compiled: statements.Compiled) -> list[Any]:
            sql, names = compiled
            return db.execute(sql, [values[name] for name in names]).fetchall()

        todo_lists, memberships, members = scope_reads
        scope, lists = rules.involved_lists(
            first, rows(todo_lists) if first.todo_ids else [], rows(memberships))
        values["lists"] = dumps(lists)
        needs = rules.scoped(first, scope, rows(members) if lists else [])
        values.update({name: dumps(ids)
                       for name, ids in statements.read_values(needs).items()})
        results = [rows(compiled) if want else []
                   for compiled, want in zip(reads, statements.wanted(needs), strict=True)]
        return statements.loaded(needs, scope, *results)

    def work(db: sqlite3.Connection) -> list[rules.Outcome]:
        try:
            outcomes, writes = rules.apply_group(items, read(db), clock, new_id)
            for kind, rows in statements.write_batches(writes):
                db.executemany(*statements.positional(kind, dialect, rows))
            db.execute("COMMIT")
            return outcomes
        except BaseException:
            _rollback(db)
            raise

    return await _in_driver_thread(driver, work)


class _Read(NamedTuple):
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    row: Callable[..., Any]


_reads: dict[tuple[int, str], _Read] = {}


def _row_class(keys: Sequence[str]) -> Callable[..., Any]:
    """Rows read by attribute, by position and through ``_mapping``, as SQLAlchemy's are."""
    base = namedtuple("Row", keys)  # type: ignore[misc]

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return Row


def _read_compiled(stmt: Any, dialect: Dialect) -> _Read:
    key = (id(stmt), dialect.name)
    found = _reads.get(key)
    if found is None:
        done = stmt.compile(dialect=dialect)
        found = _reads[key] = _Read(done.string, tuple(done.positiontup or ()),
                                    {name: bind.value for name, bind in done.binds.items()},
                                    _row_class(list(stmt.selected_columns.keys())))
    return found


def _bound(value: Any) -> Any:
    return dumps(value) if isinstance(value, list) else value


async def read(driver: Any, dialect: Dialect, plan: plans.Plan[T]) -> T:
    """Run ``plan`` (built on ``HELLOS`` or other statements made with this module's way
    of passing lists) in one read transaction on the aiosqlite connection ``driver``, in
    one hand-off to its thread."""

    def work(db: sqlite3.Connection) -> T:
        db.execute("BEGIN")
        try:
            step = next(plan)
            while True:
                found: list[plans.Rows] = []
                for query in step:
                    sql, names, defaults, row = _read_compiled(query.statement, dialect)
                    values = query.values
                    params = [_bound(values[name]) if name in values else defaults[name]
                              for name in names]
                    found.append([row(*item) for item in db.execute(sql, params)])
                step = plan.send(found)
        except StopIteration as done:
            result: T = done.value
            return result
        finally:
            _rollback(db)

    return await _in_driver_thread(driver, work)
