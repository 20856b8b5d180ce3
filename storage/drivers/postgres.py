"""The fast path on PostgreSQL: a whole group straight on the asyncpg connection in five
round trips (BEGIN, the user locks, one read, one write, COMMIT), the transaction owned here.

The statements are prepared once and cached by asyncpg; lists are passed as arrays. Once the
locks are held, the other four reads go as one statement (UNION ALL of rows padded to one
shape, told apart by a kind letter), and every write of the group as one statement of
data-modifying CTEs, each kind's rows passed column by column as arrays (unnest). The net
effect touches each row at most once (deleted, updated or inserted), so the CTEs, which all
see the same snapshot, never step on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    Float,
    String,
    Text,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from storage import rules, statements
from storage.models import todos
from storage.rules import Row
from storage.statements import KEY, TODO_COLUMNS, WRITES, WriteKind

# The generic plan suits statements that take arrays of any length; see ``prepare``.
PREPARE = "SET plan_cache_mode = force_generic_plan"
RESET = "RESET plan_cache_mode"


def usable(driver: Any) -> bool:
    """An asyncpg connection."""
    return type(driver).__module__.startswith("asyncpg")


def _listed(column: Any, name: str) -> Any:
    return column == any_(bindparam(name, type_=ARRAY(String)))


_SCOPE_READS = statements.scope_reads(_listed)


def _reads() -> tuple[Any, Any]:
    parts: tuple[Any, ...] = statements.reads(_listed)
    lock, stored, found, tops, outside = parts

    def padded(kind: str, head: list[Any], todo: dict[str, Any] | None = None) -> list[Any]:
        todo = todo or {}
        return [literal_column(f"'{kind}'").label("kind"), *head, *[
            todo.get(name, null().cast(todos.c[name].type)).label(name)
            for name in TODO_COLUMNS
        ]]

    text_null, float_null = null().cast(Text), null().cast(Float)
    union = union_all(
        select(*padded("o", [stored.selected_columns[0].label("k_user"),
                             stored.selected_columns[1].label("k_key"),
                             stored.selected_columns[2].label("k_answer"),
                             stored.selected_columns[3].label("k_fingerprint"),
                             float_null.label("k_top")]))
        .where(stored.whereclause),
        select(*padded("t", [todos.c.list_id.label("k_user"), todos.c.id.label("k_key"),
                             text_null, text_null, float_null],
                       {name: todos.c[name] for name in TODO_COLUMNS}))
        .where(found.whereclause),
        *[select(*padded("m", [top.selected_columns[0].label("k_user"), text_null, text_null,
                               text_null, top.selected_columns[1].label("k_top")]))
          .where(top.whereclause) for top in (tops, outside)],
    )
    return lock, union


_LOCK, _READ = _reads()
_HEAD = 6  # kind, k_user, k_key, k_answer, k_fingerprint, k_top; then the todo columns


def _array_name(kind: WriteKind, name: str) -> str:
    return f"{kind.name}__{name}"


def _part(kind: WriteKind) -> Any:
    """The kind's write as a statement over the unnested parameter arrays."""
    table = kind.table
    names = [(KEY + key, table.c[key].type) for key in kind.keys]
    names += [(name, table.c[name].type) for name in kind.columns]
    rows = select(*[func.unnest(bindparam(_array_name(kind, name), type_=ARRAY(type_)))
                    .label(name) for name, type_ in names])
    if kind.action == "insert":
        return insert(table).from_select(kind.columns, rows)
    given = rows.subquery(f"{kind.name}_rows")
    where = and_(*[table.c[key] == given.c[KEY + key] for key in kind.keys])
    if kind.action == "delete":
        return delete(table).where(where)
    return update(table).where(where).values({name: given.c[name] for name in kind.columns})


_WRITE = select(func.count()).add_cte(
    *[_part(kind).cte(f"w{index}") for index, kind in enumerate(WRITES)]
)


def _arrays(writes: rules.Writes) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for kind in WRITES:
        rows: list[Row] = writes.get(kind.name, [])
        for key in kind.keys:
            values[_array_name(kind, KEY + key)] = [row[key] for row in rows]
        for name in kind.columns:
            values[_array_name(kind, name)] = [row[name] for row in rows]
    return values


async def write(driver: Any, dialect: Dialect, items: Sequence[rules.Item],
                clock: rules.Clock, new_id: rules.NewId) -> list[rules.Outcome]:
    """Apply ``items`` in one transaction of their own on the asyncpg connection ``driver``
    (see storage.drivers.core.apply_group for the outcomes); a driver error rolls back and
    becomes SQLAlchemy's DBAPIError."""
    import asyncpg  # type: ignore[import-untyped]  # only on PostgreSQL

    lock_sql, lock_names = statements.compiled(_LOCK, dialect)
    read_sql, read_names = statements.compiled(_READ, dialect)
    write_sql, write_names = statements.compiled(_WRITE, dialect)
    first = rules.needs(items)
    todo_lists, memberships, members = [statements.compiled(statement, dialect)
                                        for statement in _SCOPE_READS]
    values: dict[str, list[str]] = {"todo_ids": first.todo_ids, "actors": first.actors}

    async def rows(compiled: statements.Compiled) -> list[Any]:
        sql, names = compiled
        return list(await driver.fetch(sql, *[values[n] for n in names]))

    try:
        async with driver.transaction():
            # Whom to lock: read before the locks, checked again once they are held.
            scope, values["lists"] = rules.involved_lists(
                first, await rows(todo_lists) if first.todo_ids else [],
                await rows(memberships))
            needs = rules.scoped(first, scope, await rows(members) if values["lists"] else [])
            values.update(statements.read_values(needs))
            seqs = await driver.fetch(lock_sql, *[values[n] for n in lock_names])
            if values["lists"]:
                rules.scoped(needs, scope, await rows(members))
                rules.members_locked(scope, (row[0] for row in seqs))
            stored: list[Any] = []
            found: list[Any] = []
            tops: list[Any] = []
            if any(statements.wanted(needs)[1:]):
                for row in await driver.fetch(read_sql, *[values[n] for n in read_names]):
                    kind = row[0]
                    if kind == "o":
                        stored.append((row[1], row[2], row[3], row[4]))
                    elif kind == "t":
                        found.append(tuple(row[_HEAD:]))
                    else:
                        tops.append((row[1], row[5]))
            loaded = statements.loaded(needs, scope, seqs, stored, found, tops)
            outcomes, writes = rules.apply_group(items, loaded, clock, new_id)
            arrays = _arrays(writes)
            await driver.fetchval(write_sql, *[arrays[name] for name in write_names])
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DBAPIError.instance("group commit", None, exc, Exception) from exc
    return outcomes
