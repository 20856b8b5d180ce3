"""The SQL of the write path, in SQLAlchemy Core: the reads a group needs and its net writes.

The reads are built for a way of passing a list (``listed(column, name)`` is "column is in
the list called name"): expanded IN for the plain path, a JSON array and ``json_each`` on
SQLite, an array and ``= ANY`` on PostgreSQL. The writes are one statement per
``WriteKind``, run with one row of parameters per written row; the driver paths compile each
statement once per dialect (``compiled``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.expression import Executable

from storage.models import changes, list_members, lists, operations, todos, users
from storage.rules import Loaded, Needs, Row, Scope, StoredOp, Writes

Listed = Callable[[Any, str], ColumnElement[bool]]
TODO_COLUMNS = tuple(column.name for column in todos.c)
KEY = "k_"  # prefix of the parameters that name the row an UPDATE or DELETE writes


def scope_reads(listed: Listed) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The reads that say whom a group locks, before it locks: the lists of the todos named
    (``todo_ids``), the actors' memberships with the inbox flag (``actors``), and the members
    of every list involved (``lists``, from storage.rules.involved_lists)."""
    return (
        select(todos.c.id, todos.c.list_id).where(listed(todos.c.id, "todo_ids")),
        select(list_members.c.user_id, list_members.c.list_id, list_members.c.role,
               lists.c.inbox)
        .join(lists, lists.c.id == list_members.c.list_id)
        .where(listed(list_members.c.user_id, "actors")),
        select(list_members.c.list_id, list_members.c.user_id, list_members.c.role)
        .where(listed(list_members.c.list_id, "lists")),
    )


def reads(listed: Listed) -> tuple[Select[Any], ...]:
    """The five reads of a group, taking the lists of ``read_values``: the user rows with
    their seqs (locked, in id order, for every process alike), the stored operations of the
    actors, the todos by id, each top list's highest order, and each keyed top list's
    highest order outside the todos read by id.

    A top is one probe of ``ix_todos_list_order`` per list, whatever the list holds: a
    subquery per list row, because ``max`` over a ``GROUP BY`` reads every todo of the list
    (on SQLite and PostgreSQL alike: 0.9 ms for a list of 10,000 on every create)."""
    return (
        select(users.c.id, users.c.seq).where(listed(users.c.id, "users"))
        .order_by(users.c.id).with_for_update(),
        select(operations.c.user_id, operations.c.op_id, operations.c.answer,
               operations.c.fingerprint).where(
            listed(operations.c.user_id, "actors"), listed(operations.c.op_id, "op_ids")
        ),
        select(todos).where(listed(todos.c.id, "todo_ids")),
        select(lists.c.id, select(func.max(todos.c.order))
               .where(todos.c.list_id == lists.c.id).scalar_subquery())
        .where(listed(lists.c.id, "top_scopes")),
        # ``order`` is never NULL, so the first from the top is the highest; LIMIT and
        # OFFSET as text, since the driver paths bind only the named lists.
        select(lists.c.id, select(todos.c.order)
               .where(todos.c.list_id == lists.c.id, ~listed(todos.c.id, "todo_ids"))
               .order_by(todos.c.order.desc())
               .limit(literal_column("1")).offset(literal_column("0")).scalar_subquery())
        .where(listed(lists.c.id, "keyed_top_scopes")),
    )


def read_values(needs: Needs) -> dict[str, list[str]]:
    """The lists the reads take, by name."""
    return {"users": needs.users, "op_ids": needs.op_ids, "todo_ids": needs.todo_ids,
            "top_scopes": needs.top_scopes, "keyed_top_scopes": needs.keyed_top_scopes,
            "actors": needs.actors}


def wanted(needs: Needs) -> tuple[bool, ...]:
    """Which of the five reads have anything to read."""
    return (True, bool(needs.op_ids), bool(needs.todo_ids), bool(needs.top_scopes),
            bool(needs.keyed_top_scopes))


def loaded(needs: Needs, scope: Scope, seqs: Iterable[Sequence[Any]],
           stored: Iterable[Sequence[Any]], found: Iterable[Sequence[Any]],
           *tops: Iterable[Sequence[Any]]) -> Loaded:
    """What the five reads returned (rows as tuples, in their select order), for the rules;
    the two reads of top orders may come as one."""
    top: dict[str, float | None] = dict.fromkeys([*needs.top_scopes, *needs.keyed_top_scopes])
    for rows in tops:
        for list_id, value in rows:
            top[list_id] = value
    return Loaded(
        seqs={user_id: seq for user_id, seq in seqs},
        stored={(user_id, op_id): StoredOp(answer, fingerprint)
                for user_id, op_id, answer, fingerprint in stored},
        todos=[dict(zip(TODO_COLUMNS, row, strict=True)) for row in found],
        tops=top,
        scope=scope,
    )


class WriteKind(NamedTuple):
    """One kind of net write: which rows of ``table`` (matched on ``keys``) are deleted or
    updated, or inserted, and which ``columns`` it sets."""

    name: str
    table: Table
    action: str  # delete, update or insert
    keys: tuple[str, ...]
    columns: tuple[str, ...]

    def statement(self) -> Executable:
        """The statement, taking ``k_<key>`` and ``<column>`` parameters."""
        if self.action == "insert":
            return insert(self.table)
        where = and_(*[self.table.c[key] == bindparam(KEY + key) for key in self.keys])
        if self.action == "delete":
            return delete(self.table).where(where)
        return update(self.table).where(where).values(
            {name: bindparam(name) for name in self.columns})

    def parameters(self, row: Row) -> dict[str, Any]:
        """A written row as the statement's parameters."""
        return {**{KEY + key: row[key] for key in self.keys},
                **{name: row[name] for name in self.columns}}


_SET = tuple(name for name in TODO_COLUMNS if name != "id")

# In the order they run; the names are those of storage.rules' Writes.
WRITES = (
    WriteKind("todo_delete", todos, "delete", ("id",), ()),
    WriteKind("todo_update", todos, "update", ("id",), _SET),
    WriteKind("todo_insert", todos, "insert", (), TODO_COLUMNS),
    WriteKind("user_seq", users, "update", ("id",), ("seq",)),
    WriteKind("change", changes, "insert", (), tuple(c.name for c in changes.c)),
    WriteKind("operation", operations, "insert", (), tuple(c.name for c in operations.c)),
)
_STATEMENTS = {kind.name: kind.statement() for kind in WRITES}


def statement(kind: WriteKind) -> Executable:
    """The kind's statement, built once."""
    return _STATEMENTS[kind.name]


class Compiled(NamedTuple):
    """A statement compiled for a dialect: its SQL and its parameter names in order."""

    sql: str
    names: tuple[str, ...]


_compiled: dict[tuple[int, str], Compiled] = {}


def compiled(stmt: Any, dialect: Dialect, keys: Sequence[str] | None = None) -> Compiled:
    """``stmt`` compiled for ``dialect`` (``keys``: the columns an INSERT takes), once."""
    key = (id(stmt), dialect.name)
    found = _compiled.get(key)
    if found is None:
        done = stmt.compile(dialect=dialect, column_keys=keys)
        found = _compiled[key] = Compiled(done.string, tuple(done.positiontup or ()))
    return found


def positional(kind: WriteKind, dialect: Dialect,
               rows: list[Row]) -> tuple[str, list[list[Any]]]:
    """The kind's SQL for ``dialect`` and its rows as positional parameters."""
    sql, names = compiled(statement(kind), dialect,
                          kind.columns if kind.action == "insert" else None)
    sources = [name.removeprefix(KEY) for name in names]
    return sql, [[row[source] for source in sources] for row in rows]


def write_batches(writes: Writes) -> list[tuple[WriteKind, list[Row]]]:
    """The writes that have rows, in the order they run."""
    return [(kind, writes[kind.name]) for kind in WRITES if writes.get(kind.name)]
