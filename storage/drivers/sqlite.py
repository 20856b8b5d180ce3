"""The fast paths on SQLite: a whole group, or a whole read plan (storage.plans), as one
transaction owned here, run straight on the sqlite3 connection under an aiosqlite one.

Through SQLAlchemy each statement costs about four hand-offs to aiosqlite's thread (cursor,
execute, fetch, close) and 300-400 us of CPU on a 2-core machine, which capped the writer
near 270 commands/s. Here a group's BEGIN IMMEDIATE, reads, rules, writes and COMMIT, or a
read plan's BEGIN, steps and ROLLBACK, run in one piece:

- on the event loop itself (``on_loop``, the hub's default): a hand-off to aiosqlite's
  thread costs about 75 us of CPU and two waits (for the thread, then for the loop), which
  is more than most groups' statements, and the thread and the loop take the GIL from each
  other at every statement. In WAL mode at synchronous=NORMAL a commit only appends to the
  log (the checkpoint, the one fsync, runs beside it: storage.engine), and a reader never
  waits for the writer, so the loop waits for no one, except another process holding the
  write lock: the connection kept for this (storage.engine.Database) has a busy timeout of
  0, and a transaction that finds the database locked goes through aiosqlite's thread
  instead, which waits for the lock (a write) or is left to the caller (a read: ``Busy``);
- in aiosqlite's thread, in one hand-off (the private one SQLAlchemy's aiosqlite dialect
  also uses), when statements are not to run on the loop.
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
from storage.engine import BUSY_TIMEOUT_MS

T = TypeVar("T")

def _listed(column: Any, name: str) -> Any:
    return column.in_(select(func.json_each(bindparam(name)).table_valued("value").c.value))


def _one(column: Any, name: str) -> Any:
    # A list of one, as a plain comparison: json_each costs 4-7 us a statement, and most
    # groups are one command of one user.
    return column == bindparam(name)


_SCOPE_READS = statements.scope_reads(_listed)
_READS = statements.reads(_listed)
_SCOPE_READS_ONE = statements.scope_reads(_one)
_READS_ONE = statements.reads(_one)
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


class Busy(Exception):
    """Another process holds a lock the read needs; nothing was read (see ``read``)."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_BUSY)
    return "locked" in str(exc) or "busy" in str(exc)


def _begun(db: sqlite3.Connection, begin: Sequence[str]) -> bool:
    """Run ``begin`` on the loop; False (and nothing begun) when the database is locked."""
    try:
        for sql in begin:
            db.execute(sql)
    except sqlite3.OperationalError as exc:
        _rollback(db)
        if _is_busy(exc):
            return False
        raise DBAPIError.instance("begin", None, exc, sqlite3.Error) from exc
    return True


def _on_loop(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    try:
        return work(db)
    except sqlite3.Error as exc:
        raise DBAPIError.instance("group commit", None, exc, sqlite3.Error) from exc


def _waiting(begin: Sequence[str], work: Callable[[sqlite3.Connection], T],
             db: sqlite3.Connection) -> T:
    """``begin`` then ``work``, waiting for a lock as the pool's connections do."""
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        for sql in begin:
            db.execute(sql)
        return work(db)
    finally:
        db.execute("PRAGMA busy_timeout=0")


async def _transaction(driver: Any, begin: Sequence[str],
                       work: Callable[[sqlite3.Connection], T], on_loop: bool) -> T:
    """``begin`` then ``work`` (which ends the transaction), on the loop when ``on_loop``
    and the database is free, else in the driver's thread."""
    if on_loop:
        if _begun(driver._conn, begin):
            return _on_loop(driver._conn, work)
        return await _in_driver_thread(driver, partial(_waiting, begin, work))

    def begun(db: sqlite3.Connection) -> T:
        for sql in begin:
            db.execute(sql)
        return work(db)

    return await _in_driver_thread(driver, begun)


_Pair = tuple[statements.Compiled, statements.Compiled]
_pairs: dict[str, tuple[list[_Pair], list[_Pair]]] = {}


def _write_reads(dialect: Dialect) -> tuple[list[_Pair], list[_Pair]]:
    """The scope reads and the reads of a group, each for lists and for lists of one."""
    found = _pairs.get(dialect.name)
    if found is None:
        scope_reads, reads = (
            [(statements.compiled(many, dialect), statements.compiled(one, dialect))
             for many, one in zip(lists, ones, strict=True)]
            for lists, ones in ((_SCOPE_READS, _SCOPE_READS_ONE), (_READS, _READS_ONE)))
        found = _pairs[dialect.name] = (scope_reads, reads)
    return found


async def write(driver: Any, dialect: Dialect, items: Sequence[rules.Item],
                clock: rules.Clock, new_id: rules.NewId,
                on_loop: bool = False) -> list[rules.Outcome]:
    """Apply ``items`` in one transaction of their own on the aiosqlite connection
    ``driver`` (see storage.drivers.core.apply_group for the outcomes), on the event loop
    when ``on_loop`` (``driver`` must then be one kept with a busy timeout of 0; a locked
    database is waited for in its thread). Any failure rolls back."""
    first = rules.needs(items)
    scope_reads, reads = _write_reads(dialect)

    def read(db: sqlite3.Connection) -> rules.Loaded:
        values: dict[str, list[str]] = {"todo_ids": first.todo_ids, "actors": first.actors}
        encoded: dict[str, tuple[list[str], str]] = {}

        def param(name: str) -> str:
            # Each list as JSON once, and only for a statement that runs.
            ids = values[name]
            done = encoded.get(name)
            if done is None or done[0] != ids:
                done = encoded[name] = (ids, dumps(ids))
            return done[1]

        def rows(compiled: _Pair) -> list[Any]:
            (sql, names), (one_sql, one_names) = compiled
            if all(len(values[name]) == 1 for name in one_names):
                return db.execute(one_sql, [values[name][0] for name in one_names]).fetchall()
            return db.execute(sql, [param(name) for name in names]).fetchall()

        todo_lists, memberships, members = scope_reads
        scope, lists = rules.involved_lists(
            first, rows(todo_lists) if first.todo_ids else [], rows(memberships))
        values["lists"] = lists
        needs = rules.scoped(first, scope, rows(members) if lists else [])
        values.update(statements.read_values(needs))
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

    # BEGIN IMMEDIATE: the write lock up front, as storage.engine does.
    return await _transaction(driver, ("BEGIN IMMEDIATE",), work, on_loop)


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


# A read transaction begins at its first read: the schema version is the cheapest, and
# tells on the loop whether the read can start without waiting.
_READ_BEGIN = ("BEGIN", "PRAGMA schema_version")


async def read(driver: Any, dialect: Dialect, plan: plans.Plan[T], on_loop: bool = False) -> T:
    """Run ``plan`` (built on ``HELLOS`` or other statements made with this module's way
    of passing lists) in one read transaction on the aiosqlite connection ``driver``: on the
    event loop when ``on_loop`` (``driver`` must then be one kept with a busy timeout of 0;
    ``Busy`` when the read would have to wait, before the plan's first step), else in one
    hand-off to its thread."""

    def work(db: sqlite3.Connection) -> T:
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

    if on_loop:
        if not _begun(driver._conn, _READ_BEGIN):
            raise Busy
        return _on_loop(driver._conn, work)
    return await _transaction(driver, _READ_BEGIN, work, on_loop=False)
