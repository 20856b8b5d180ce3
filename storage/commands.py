"""Apply commands: todo rows, the user's seq, one change-log row per change, and the
operation id with its answer.

- ``apply``: one command, on a connection whose transaction the caller owns (each command in
  its own savepoint when several share a commit);
- ``GroupWriter`` / ``write_group``: a whole group of commands in one transaction of its own,
  with a fixed number of statements, giving exactly what ``apply`` would one after another.
  The hub's writer uses this one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import (
    ARRAY,
    Float,
    Row,
    String,
    Text,
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
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import utcnow
from storage.codec import dumps, loads
from storage.engine import Database
from storage.errors import CommandRejected
from storage.models import changes, operations, todos, users
from storage.todos import new_todo_id, todo_to_wire
from storage.types import Applied, Command, CreateOp, DeleteOp, Op, UpdateOp

_COLUMNS = (
    "title", "description", "status", "priority", "due_at", "order", "completed_at", "version",
    "updated_at",
)


async def apply(
    conn: AsyncConnection, user_id: str, command: Command, device: str, now: str | None = None
) -> Applied:
    """Apply ``command`` for ``user_id`` on ``conn``; raise CommandRejected and change nothing
    (within the caller's savepoint) when any operation is refused."""
    now = now or utcnow()
    # Locking the user row first orders this user's writers (PostgreSQL; SQLite has one writer)
    # and makes the operation-id check below race-free.
    seq_row = (
        await conn.execute(
            select(users.c.seq).where(users.c.id == user_id).with_for_update()
        )
    ).first()
    if seq_row is None:
        raise CommandRejected("not_found", "the user no longer exists")
    seq: int = seq_row.seq
    if command.op_id is not None:
        stored = (
            await conn.execute(
                select(operations.c.answer).where(
                    operations.c.user_id == user_id, operations.c.op_id == command.op_id
                )
            )
        ).first()
        if stored is not None:
            return Applied(answer=loads(stored.answer), duplicate=True)

    results: list[tuple[str, dict[str, Any]]] = []
    for index, op in enumerate(command.ops):
        try:
            results.append(await _apply_op(conn, user_id, op, now))
        except CommandRejected as exc:
            if command.batch:
                exc.message = f"ops.{index}: {exc.message}"
                for detail in exc.details or []:
                    detail["field"] = f"ops.{index}.{detail['field']}"
            raise

    frames: list[tuple[int, str]] = []
    change_rows = []
    origin = {"device": device, "op": command.op_id}
    for op_name, todo in results:
        seq += 1
        frame = dumps(
            {"type": "change", "seq": seq, "op": op_name, "todo": todo, "origin": origin,
             "at": now}
        )
        frames.append((seq, frame))
        change_rows.append(
            {"user_id": user_id, "seq": seq, "op": op_name, "todo_id": todo["id"],
             "frame": frame, "at": now}
        )
    await conn.execute(update(users).where(users.c.id == user_id).values(seq=seq))
    await conn.execute(insert(changes), change_rows)

    if command.batch:
        answer: dict[str, Any] = {
            "seqs": [s for s, _ in frames], "todos": [todo for _, todo in results]
        }
    else:
        answer = {"seq": frames[0][0], "todo": results[0][1]}
    if command.op_id is not None:
        await conn.execute(
            insert(operations).values(
                user_id=user_id, op_id=command.op_id, answer=dumps(answer), seq=seq,
                created_at=now,
            )
        )
    return Applied(answer=answer, frames=frames)


async def _apply_op(
    conn: AsyncConnection, user_id: str, op: Op, now: str
) -> tuple[str, dict[str, Any]]:
    if isinstance(op, CreateOp):
        return "create", await _create(conn, user_id, op, now)
    if isinstance(op, UpdateOp):
        return "update", await _update(conn, user_id, op, now)
    return "delete", await _delete(conn, user_id, op)


async def _create(conn: AsyncConnection, user_id: str, op: CreateOp, now: str) -> dict[str, Any]:
    data = op.todo
    todo_id = data.id or new_todo_id()
    if data.id is not None:
        existing = await _fetch(conn, user_id, todo_id)
        if existing is not None:
            raise CommandRejected(
                "conflict", f"a todo with id {todo_id} already exists",
                todo=todo_to_wire(existing),
            )
    status = data.status
    if data.completed is not None:
        status = "completed" if data.completed else "pending"
    order = data.order
    if order is None:
        top = (
            await conn.execute(
                select(func.max(todos.c.order)).where(todos.c.user_id == user_id)
            )
        ).scalar()
        order = (top or 0.0) + 1.0
    values = {
        "user_id": user_id, "id": todo_id, "title": data.title, "description": data.description,
        "status": status, "priority": data.priority, "due_at": data.due_at,
        "tags": dumps(data.tags), "order": order, "created_at": now, "updated_at": now,
        "completed_at": now if status == "completed" else None, "version": 1,
    }
    await conn.execute(insert(todos).values(values))
    return todo_to_wire(values)


async def _update(conn: AsyncConnection, user_id: str, op: UpdateOp, now: str) -> dict[str, Any]:
    row = await _fetch_or_missing(conn, user_id, op.todo_id)
    if op.if_version is not None and op.if_version != row.version:
        raise CommandRejected(
            "conflict",
            f"expected version {op.if_version}, the todo is at version {row.version}",
            todo=todo_to_wire(row),
        )
    patch = op.patch.changes()
    values: dict[str, Any] = dict(row._mapping)
    completed = patch.pop("completed", None)
    if completed is not None:
        patch["status"] = "completed" if completed else "pending"
    if "tags" in patch:
        patch["tags"] = dumps(patch["tags"])
    values.update(patch)
    was_done = row.status == "completed"
    is_done = values["status"] == "completed"
    if is_done and not was_done:
        values["completed_at"] = now
    elif was_done and not is_done:
        values["completed_at"] = None
    values["version"] = row.version + 1
    values["updated_at"] = now
    await conn.execute(
        update(todos)
        .where(todos.c.user_id == user_id, todos.c.id == op.todo_id)
        .values({name: values[name] for name in (*_COLUMNS, "tags")})
    )
    return todo_to_wire(values)


async def _delete(conn: AsyncConnection, user_id: str, op: DeleteOp) -> dict[str, Any]:
    row = await _fetch_or_missing(conn, user_id, op.todo_id)
    if op.if_version is not None and op.if_version != row.version:
        raise CommandRejected(
            "conflict",
            f"expected version {op.if_version}, the todo is at version {row.version}",
            todo=todo_to_wire(row),
        )
    await conn.execute(delete(todos).where(todos.c.user_id == user_id, todos.c.id == op.todo_id))
    return {"id": op.todo_id, "deleted": True, "version": row.version + 1}


async def _fetch(conn: AsyncConnection, user_id: str, todo_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(todos).where(todos.c.user_id == user_id, todos.c.id == todo_id)
        )
    ).first()


async def _fetch_or_missing(conn: AsyncConnection, user_id: str, todo_id: str) -> Row[Any]:
    row = await _fetch(conn, user_id, todo_id)
    if row is None:
        raise CommandRejected("not_found", f"no todo with id {todo_id}")
    return row


# Group commit --------------------------------------------------------------------------
#
# ``apply`` above issues five to nine statements per command, each with its own round trip
# (on SQLite through aiosqlite, four thread hand-offs per statement): that capped the writer
# near 270 commands/s on two cores. ``apply_group`` applies a whole group of commands with a
# fixed number of statements: it reads what the group needs at once (user seqs, stored
# operation ids, the todos it touches, the top order), applies every command in Python in
# arrival order against that state (each command atomic: a refused one leaves no trace, as
# its savepoint did), then writes the net effect with one statement per table and kind. The
# answers, frames and rows are exactly those ``apply`` gives one command after another
# (checked against it on random command mixes, on SQLite and PostgreSQL).
#
# The statements are SQLAlchemy Core, compiled once per dialect. ``GroupWriter`` runs them
# straight on the driver and owns the transaction: on SQLite in two calls into the aiosqlite
# connection's own thread (the private hand-off SQLAlchemy's aiosqlite dialect also uses),
# on PostgreSQL on the asyncpg connection in five round trips. Any other driver goes through
# SQLAlchemy (``apply_group`` on a connection the caller began).

TodoKey = tuple[str, str]  # (user id, todo id)
Outcome = Applied | CommandRejected
Item = tuple[str, Command, str]  # (user id, command, device)

_TODO_COLUMNS = tuple(column.name for column in todos.c)
_ALL_COLUMNS = (*_COLUMNS, "tags", "created_at")
_MISSING = object()


def _needs_sequential(items: Sequence[Item]) -> bool:
    """Whether the top order of some user cannot be tracked in memory: a create without an
    order (max order + 1) together with a delete or an order change of the same user."""
    plain_create: set[str] = set()
    lowers_top: set[str] = set()
    for user_id, command, _ in items:
        for op in command.ops:
            if isinstance(op, CreateOp):
                if op.todo.order is None:
                    plain_create.add(user_id)
            elif isinstance(op, DeleteOp) or "order" in op.patch.model_fields_set:
                lowers_top.add(user_id)
    return not plain_create.isdisjoint(lowers_top)


async def write_group(db: Database, items: Sequence[Item]) -> list[Outcome]:
    """Apply each ``(user id, command, device)`` in order, in one transaction that this
    function begins and commits; each outcome is the command's Applied or the
    CommandRejected that refused it (and changed nothing). A database error rolls the whole
    group back and propagates (as SQLAlchemy's DBAPIError)."""
    writer = GroupWriter(db)
    try:
        return await writer.write(items)
    finally:
        await writer.close()


class GroupWriter:
    """Writes groups of commands (see :func:`write_group`) for one writer task.

    On PostgreSQL it keeps its connection from one group to the next: checking one out of
    the pool costs a round trip (pre-ping) and a reset per group. The connection is only ever
    used between a group's BEGIN and COMMIT; on any error it is thrown away and the next
    group checks out a fresh one. On SQLite the single writer connection is shared with
    other writers (sign-ups, sessions), so it goes back to the pool after every group.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._held: AsyncConnection | None = None

    async def write(self, items: Sequence[Item]) -> list[Outcome]:
        """Apply ``items`` in one transaction (see :func:`write_group`)."""
        driver: Any
        if not _needs_sequential(items):
            if self._db.is_sqlite:
                async with self._db.writer.connect() as conn:
                    driver = (await conn.get_raw_connection()).driver_connection
                    if _is_aiosqlite(driver):
                        return await _run_sqlite(driver, _Group(items), conn.dialect)
            else:
                fresh = self._held is None
                conn = self._held = self._held or await self._db.writer.connect()
                try:
                    driver = (await conn.get_raw_connection()).driver_connection
                    if _is_asyncpg(driver):
                        if fresh:
                            # The group's statements take arrays of any length: one generic
                            # plan serves them all, where a custom plan is planned anew at
                            # every execution (a quarter of a millisecond or more, each).
                            await driver.execute("SET plan_cache_mode = force_generic_plan")
                        return await _run_postgres(driver, _Group(items), conn.dialect)
                except BaseException:
                    await self._drop()
                    raise
        await self.close()  # a held connection must not wait while the pool serves this
        async with self._db.write() as conn:
            return await apply_group(conn, items)

    async def close(self) -> None:
        """Give the held connection back to the pool (as it found it)."""
        conn, self._held = self._held, None
        if conn is not None:
            try:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                if _is_asyncpg(driver):
                    await driver.execute("RESET plan_cache_mode")
            except BaseException:
                await conn.invalidate()
                raise
            finally:
                await conn.close()

    async def _drop(self) -> None:
        conn, self._held = self._held, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()


async def apply_group(conn: AsyncConnection, items: Sequence[Item]) -> list[Outcome]:
    """Like :func:`write_group`, in the caller's transaction on ``conn``."""
    if _needs_sequential(items):
        return await _apply_each(conn, items)
    return await _run_core(conn, _Group(items))


async def _apply_each(conn: AsyncConnection, items: Sequence[Item]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for user_id, command, device in items:
        try:
            async with conn.begin_nested():
                outcomes.append(await apply(conn, user_id, command, device))
        except CommandRejected as exc:
            outcomes.append(exc)
    return outcomes


class _Group:
    """One group's state in memory between its reads and its writes (no I/O here)."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        # What to read.
        self.user_ids = sorted({user_id for user_id, _, _ in items})
        self.op_ids = sorted({c.op_id for _, c, _ in items if c.op_id is not None})
        self.keys: set[TodoKey] = set()
        self.top_users: set[str] = set()
        for user_id, command, _ in items:
            for op in command.ops:
                if isinstance(op, CreateOp):
                    if op.todo.id is not None:
                        self.keys.add((user_id, op.todo.id))
                    if op.todo.order is None:
                        self.top_users.add(user_id)
                else:
                    self.keys.add((user_id, op.todo_id))
        # What was read, and the state as commands apply.
        self.seqs: dict[str, int] = {}
        self.stored: dict[tuple[str, str], str] = {}  # (user, op id) -> answer text
        self.rows: dict[TodoKey, dict[str, Any] | None] = {}  # current state; None: absent
        self.loaded: dict[TodoKey, dict[str, Any]] = {}  # as read from the database
        self.tops: dict[str, float | None] = {}  # max order per user in top_users
        # What to write besides the todos.
        self.change_rows: list[dict[str, Any]] = []
        self.operation_rows: list[dict[str, Any]] = []
        self.dirty_users: set[str] = set()

    @property
    def todo_users(self) -> list[str]:
        return sorted({user_id for user_id, _ in self.keys})

    @property
    def todo_ids(self) -> list[str]:
        return sorted({todo_id for _, todo_id in self.keys})

    def load(self, seqs: Iterable[Any], stored: Iterable[Any], found: Iterable[Any],
             tops: Iterable[Any]) -> None:
        """Take the rows read: (id, seq), (user, op id, answer), todo rows, (user, top)."""
        self.seqs = {user_id: seq for user_id, seq in seqs}
        self.stored = {(user_id, op_id): answer for user_id, op_id, answer in stored}
        for row in found:
            values = dict(zip(_TODO_COLUMNS, row, strict=True))
            key = (values["user_id"], values["id"])
            if key in self.keys:
                self.rows[key] = self.loaded[key] = values
        for key in self.keys:
            self.rows.setdefault(key, None)
        self.tops = dict.fromkeys(self.top_users)
        for user_id, top in tops:
            self.tops[user_id] = top

    def apply_all(self) -> list[Outcome]:
        return [self._apply(user_id, command, device) for user_id, command, device in self.items]

    def _apply(self, user_id: str, command: Command, device: str) -> Outcome:
        now = utcnow()
        seq = self.seqs.get(user_id)
        if seq is None:
            return CommandRejected("not_found", "the user no longer exists")
        if command.op_id is not None:
            stored = self.stored.get((user_id, command.op_id))
            if stored is not None:
                return Applied(answer=loads(stored), duplicate=True)
        staged: dict[TodoKey, dict[str, Any] | None] = {}
        top = self.tops.get(user_id)
        results: list[tuple[str, dict[str, Any]]] = []
        for index, op in enumerate(command.ops):
            try:
                if isinstance(op, CreateOp):
                    todo, top = self._create(staged, user_id, op, now, top)
                    results.append(("create", todo))
                elif isinstance(op, UpdateOp):
                    results.append(("update", self._update(staged, user_id, op, now)))
                else:
                    results.append(("delete", self._delete(staged, user_id, op)))
            except CommandRejected as exc:
                if command.batch:
                    exc.message = f"ops.{index}: {exc.message}"
                    for detail in exc.details or []:
                        detail["field"] = f"ops.{index}.{detail['field']}"
                return exc
        # Accepted: its changes become visible to the commands after it.
        self.rows.update(staged)
        if user_id in self.tops:
            self.tops[user_id] = top

        frames: list[tuple[int, str]] = []
        origin = {"device": device, "op": command.op_id}
        for op_name, todo in results:
            seq += 1
            frame = dumps(
                {"type": "change", "seq": seq, "op": op_name, "todo": todo, "origin": origin,
                 "at": now}
            )
            frames.append((seq, frame))
            self.change_rows.append(
                {"user_id": user_id, "seq": seq, "op": op_name, "todo_id": todo["id"],
                 "frame": frame, "at": now}
            )
        self.seqs[user_id] = seq
        self.dirty_users.add(user_id)
        if command.batch:
            answer: dict[str, Any] = {
                "seqs": [s for s, _ in frames], "todos": [todo for _, todo in results]
            }
        else:
            answer = {"seq": frames[0][0], "todo": results[0][1]}
        if command.op_id is not None:
            text = dumps(answer)
            self.stored[(user_id, command.op_id)] = text
            self.operation_rows.append(
                {"user_id": user_id, "op_id": command.op_id, "answer": text, "seq": seq,
                 "created_at": now}
            )
        return Applied(answer=answer, frames=frames)

    def _current(self, staged: dict[TodoKey, dict[str, Any] | None],
                 key: TodoKey) -> dict[str, Any] | None:
        row = staged.get(key, _MISSING)
        if row is _MISSING:
            return self.rows.get(key)
        return row  # type: ignore[return-value]

    def _create(self, staged: dict[TodoKey, dict[str, Any] | None], user_id: str,
                op: CreateOp, now: str, top: float | None) -> tuple[dict[str, Any], float | None]:
        data = op.todo
        todo_id = data.id or new_todo_id()
        key = (user_id, todo_id)
        if data.id is not None:
            existing = self._current(staged, key)
            if existing is not None:
                raise CommandRejected(
                    "conflict", f"a todo with id {todo_id} already exists",
                    todo=todo_to_wire(existing),
                )
        status = data.status
        if data.completed is not None:
            status = "completed" if data.completed else "pending"
        order = data.order
        if order is None:
            order = (top or 0.0) + 1.0
        if top is None or order > top:
            top = order
        values = {
            "user_id": user_id, "id": todo_id, "title": data.title,
            "description": data.description, "status": status, "priority": data.priority,
            "due_at": data.due_at, "tags": dumps(data.tags), "order": order, "created_at": now,
            "updated_at": now, "completed_at": now if status == "completed" else None,
            "version": 1,
        }
        staged[key] = values
        return todo_to_wire(values), top

    def _existing(self, staged: dict[TodoKey, dict[str, Any] | None], user_id: str,
                  todo_id: str) -> dict[str, Any]:
        row = self._current(staged, (user_id, todo_id))
        if row is None:
            raise CommandRejected("not_found", f"no todo with id {todo_id}")
        return row

    def _update(self, staged: dict[TodoKey, dict[str, Any] | None], user_id: str,
                op: UpdateOp, now: str) -> dict[str, Any]:
        row = self._existing(staged, user_id, op.todo_id)
        if op.if_version is not None and op.if_version != row["version"]:
            raise CommandRejected(
                "conflict",
                f"expected version {op.if_version}, the todo is at version {row['version']}",
                todo=todo_to_wire(row),
            )
        patch = op.patch.changes()
        values: dict[str, Any] = dict(row)
        completed = patch.pop("completed", None)
        if completed is not None:
            patch["status"] = "completed" if completed else "pending"
        if "tags" in patch:
            patch["tags"] = dumps(patch["tags"])
        values.update(patch)
        was_done = row["status"] == "completed"
        is_done = values["status"] == "completed"
        if is_done and not was_done:
            values["completed_at"] = now
        elif was_done and not is_done:
            values["completed_at"] = None
        values["version"] = row["version"] + 1
        values["updated_at"] = now
        staged[(user_id, op.todo_id)] = values
        return todo_to_wire(values)

    def _delete(self, staged: dict[TodoKey, dict[str, Any] | None], user_id: str,
                op: DeleteOp) -> dict[str, Any]:
        row = self._existing(staged, user_id, op.todo_id)
        if op.if_version is not None and op.if_version != row["version"]:
            raise CommandRejected(
                "conflict",
                f"expected version {op.if_version}, the todo is at version {row['version']}",
                todo=todo_to_wire(row),
            )
        staged[(user_id, op.todo_id)] = None
        return {"id": op.todo_id, "deleted": True, "version": row["version"] + 1}

    def todo_writes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                   list[dict[str, Any]]]:
        """The net effect on todos: rows to delete, to update, to insert."""
        deletes: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for key, row in self.rows.items():
            before = self.loaded.get(key)
            if row is None:
                if before is not None:
                    deletes.append({"k_user": key[0], "k_id": key[1]})
            elif before is None:
                inserts.append(row)
            elif row is not before:
                updates.append({"k_user": key[0], "k_id": key[1],
                                **{name: row[name] for name in _ALL_COLUMNS}})
        return deletes, updates, inserts

    def user_writes(self) -> list[dict[str, Any]]:
        return [{"k_user": user_id, "k_seq": self.seqs[user_id]}
                for user_id in sorted(self.dirty_users)]


# The statements, in Core. The generic path expands lists (IN); the driver paths compile each
# statement once per dialect, and pass a list as one parameter: a JSON array on SQLite
# (json_each), an array on PostgreSQL (= ANY).

_DELETE_TODO = delete(todos).where(
    todos.c.user_id == bindparam("k_user"), todos.c.id == bindparam("k_id")
)
_UPDATE_TODO = (
    update(todos)
    .where(todos.c.user_id == bindparam("k_user"), todos.c.id == bindparam("k_id"))
    .values({name: bindparam(name) for name in _ALL_COLUMNS})
)
_UPDATE_SEQ = update(users).where(users.c.id == bindparam("k_user")).values(
    seq=bindparam("k_seq")
)
# (statement, the keys of an INSERT's rows) for each kind of write, in the order they run.
_WRITES = (
    (_DELETE_TODO, None),
    (_UPDATE_TODO, None),
    (insert(todos), _TODO_COLUMNS),
    (_UPDATE_SEQ, None),
    (insert(changes), tuple(column.name for column in changes.c)),
    (insert(operations), tuple(column.name for column in operations.c)),
)


def _reads(listed: Callable[[Any, str], Any]) -> tuple[Any, ...]:
    """The four reads of a group; ``listed(column, name)`` is "column in the list name"."""
    return (
        # Lock the users first, in one order for every process (PostgreSQL row locks).
        select(users.c.id, users.c.seq).where(listed(users.c.id, "users"))
        .order_by(users.c.id).with_for_update(),
        select(operations.c.user_id, operations.c.op_id, operations.c.answer).where(
            listed(operations.c.user_id, "users"), listed(operations.c.op_id, "ops")
        ),
        select(todos).where(listed(todos.c.user_id, "todo_users"),
                            listed(todos.c.id, "todo_ids")),
        select(todos.c.user_id, func.max(todos.c.order))
        .where(listed(todos.c.user_id, "top_users")).group_by(todos.c.user_id),
    )


_SQLITE_READS = _reads(lambda column, name: column.in_(
    select(func.json_each(bindparam(name)).table_valued("value").c.value)
))


def _postgres_reads() -> tuple[Any, Any]:
    """The user locks, then the other three reads as one statement (UNION ALL of rows
    padded to one shape, told apart by a kind letter): once the locks are held, one round
    trip reads what the group needs."""

    def listed(column: Any, name: str) -> Any:
        return column == any_(bindparam(name, type_=ARRAY(String)))

    lock, stored, found, tops = _reads(listed)

    def padded(kind: str, head: list[Any], todo: dict[str, Any] | None = None) -> list[Any]:
        todo = todo or {}
        return [literal_column(f"'{kind}'").label("kind"), *head, *[
            todo.get(name, null().cast(todos.c[name].type)).label(name)
            for name in _TODO_COLUMNS
        ]]

    text_null, float_null = null().cast(Text), null().cast(Float)
    reads = union_all(
        select(*padded("o", [operations.c.user_id.label("k_user"),
                             operations.c.op_id.label("k_key"),
                             operations.c.answer.label("k_answer"),
                             float_null.label("k_top")]))
        .where(stored.whereclause),
        select(*padded("t", [todos.c.user_id.label("k_user"), todos.c.id.label("k_key"),
                             text_null, float_null],
                       {name: todos.c[name] for name in _TODO_COLUMNS}))
        .where(found.whereclause),
        select(*padded("m", [todos.c.user_id.label("k_user"), text_null, text_null,
                             func.max(todos.c.order).label("k_top")]))
        .where(tops.whereclause).group_by(todos.c.user_id),
    )
    return lock, reads


_POSTGRES_LOCK, _POSTGRES_READS = _postgres_reads()


def _read_values(group: _Group) -> dict[str, list[str]]:
    return {"users": group.user_ids, "ops": group.op_ids, "todo_users": group.todo_users,
            "todo_ids": group.todo_ids, "top_users": sorted(group.top_users)}


def _wanted(group: _Group) -> tuple[bool, bool, bool, bool]:
    """Which of the four reads the group needs."""
    return True, bool(group.op_ids), bool(group.keys), bool(group.top_users)


def _write_batches(group: _Group, dialect: Any) -> list[tuple[str, list[list[Any]]]]:
    """The group's writes as (compiled SQL, rows of positional parameters)."""
    deletes, updates, inserts = group.todo_writes()
    batches = []
    for (statement, keys), rows in zip(
        _WRITES,
        (deletes, updates, inserts, group.user_writes(), group.change_rows,
         group.operation_rows),
        strict=True,
    ):
        if rows:
            sql, names = _Compiled.of(statement, dialect, keys)
            batches.append((sql, [[row[name] for name in names] for row in rows]))
    return batches


async def _run_core(conn: AsyncConnection, group: _Group) -> list[Outcome]:
    """The group through SQLAlchemy, for any database: about eight statements."""
    values = _read_values(group)
    results: list[Iterable[Any]] = []
    for statement, want in zip(_reads(lambda column, name: column.in_(values[name])),
                               _wanted(group), strict=True):
        results.append(await conn.execute(statement) if want else ())
    group.load(*results)
    outcomes = group.apply_all()
    deletes, updates, inserts = group.todo_writes()
    for (statement, _), rows in zip(
        _WRITES,
        (deletes, updates, inserts, group.user_writes(), group.change_rows,
         group.operation_rows),
        strict=True,
    ):
        if rows:
            await conn.execute(statement, rows)
    return outcomes


class _Compiled:
    """A statement compiled once for a dialect: its SQL and its parameter names in order."""

    _cache: dict[tuple[int, str], tuple[str, tuple[str, ...]]] = {}

    @classmethod
    def of(cls, statement: Any, dialect: Any,
           keys: Sequence[str] | None = None) -> tuple[str, tuple[str, ...]]:
        key = (id(statement), dialect.name)
        found = cls._cache.get(key)
        if found is None:
            compiled = statement.compile(dialect=dialect, column_keys=keys)
            found = cls._cache[key] = (compiled.string, tuple(compiled.positiontup or ()))
        return found


def _is_aiosqlite(driver: Any) -> bool:
    """An aiosqlite connection that offers its thread hand-off (see _in_driver_thread)."""
    return (type(driver).__module__.startswith("aiosqlite")
            and hasattr(driver, "_tx") and hasattr(driver, "_conn"))


def _is_asyncpg(driver: Any) -> bool:
    return type(driver).__module__.startswith("asyncpg")


# SQLite: the whole group in two hand-offs to the aiosqlite connection's thread.

async def _in_driver_thread(driver: Any, work: Callable[[Any], Any]) -> Any:
    """Run ``work(sqlite3 connection)`` in the aiosqlite connection's thread, in one
    hand-off; a driver error becomes SQLAlchemy's DBAPIError, as for any statement."""
    future = asyncio.get_running_loop().create_future()
    driver._tx.put_nowait((future, partial(work, driver._conn)))
    try:
        return await future
    except sqlite3.Error as exc:
        raise DBAPIError.instance("group commit", None, exc, sqlite3.Error) from exc


def _rollback(db: Any) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


async def _run_sqlite(driver: Any, group: _Group, dialect: Any) -> list[Outcome]:
    """The group on SQLite in two hand-offs: BEGIN IMMEDIATE (the write lock up front, as
    storage.engine does) and the reads; then the writes and COMMIT. Any failure rolls back
    (and the pool rolls back a connection returned in a transaction, should we be cancelled
    between the two)."""
    reads = [_Compiled.of(statement, dialect) for statement in _SQLITE_READS]
    values = {name: dumps(ids) for name, ids in _read_values(group).items()}
    wanted = _wanted(group)

    def read(db: Any) -> list[list[Any]]:
        try:
            db.execute("BEGIN IMMEDIATE")
            return [db.execute(sql, [values[name] for name in names]).fetchall() if want
                    else [] for (sql, names), want in zip(reads, wanted, strict=True)]
        except BaseException:
            _rollback(db)
            raise

    group.load(*await _in_driver_thread(driver, read))
    try:
        outcomes = group.apply_all()
        batches = _write_batches(group, dialect)
    except BaseException:
        await _in_driver_thread(driver, _rollback)
        raise

    def write(db: Any) -> None:
        try:
            for sql, params in batches:
                db.executemany(sql, params)
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise

    await _in_driver_thread(driver, write)
    return outcomes


# PostgreSQL: the statements straight on the asyncpg connection (prepared once, cached by
# asyncpg), in a transaction of its own; every write of the group in one statement, each
# table's rows passed column by column as arrays (unnest) to data-modifying CTEs. The net
# effect touches each todo at most once (deleted, updated or inserted), so the CTEs, which
# all see the same snapshot, never step on each other.

def _unnest(prefix: str, columns: Sequence[tuple[str, Any]]) -> Any:
    """SELECT unnest(:prefix<name>) AS <name>, ... for (name, type) pairs: rows from
    parameter arrays, one array per column."""
    return select(*[func.unnest(bindparam(prefix + name, type_=ARRAY(type_))).label(name)
                    for name, type_ in columns])


def _columns(table: Any, names: Sequence[str]) -> list[tuple[str, Any]]:
    return [(name, table.c[name].type) for name in names]


_KEY = [("k_user", todos.c.user_id.type), ("k_id", todos.c.id.type)]
_POSTGRES_WRITE_ROWS = (  # (parameter prefix, the names in each row) per kind of write
    ("d_", ("k_user", "k_id")),
    ("u_", ("k_user", "k_id", *_ALL_COLUMNS)),
    ("i_", _TODO_COLUMNS),
    ("s_", ("k_user", "k_seq")),
    ("c_", tuple(column.name for column in changes.c)),
    ("o_", tuple(column.name for column in operations.c)),
)


def _postgres_write() -> Any:
    gone = _unnest("d_", _KEY).subquery("gone")
    changed = _unnest("u_", _KEY + _columns(todos, _ALL_COLUMNS)).subquery("changed")
    seqs = _unnest("s_", [("k_user", users.c.id.type), ("k_seq", users.c.seq.type)]
                   ).subquery("seqs")
    change_columns = [column.name for column in changes.c]
    operation_columns = [column.name for column in operations.c]
    parts = [
        delete(todos).where(todos.c.user_id == gone.c.k_user, todos.c.id == gone.c.k_id),
        update(todos)
        .where(todos.c.user_id == changed.c.k_user, todos.c.id == changed.c.k_id)
        .values({name: changed.c[name] for name in _ALL_COLUMNS}),
        insert(todos).from_select(_TODO_COLUMNS,
                                  _unnest("i_", _columns(todos, _TODO_COLUMNS))),
        update(users).where(users.c.id == seqs.c.k_user).values(seq=seqs.c.k_seq),
        insert(changes).from_select(change_columns,
                                    _unnest("c_", _columns(changes, change_columns))),
        insert(operations).from_select(
            operation_columns, _unnest("o_", _columns(operations, operation_columns))
        ),
    ]
    return select(func.count()).add_cte(
        *[part.cte(f"w{index}") for index, part in enumerate(parts)]
    )


_POSTGRES_WRITE = _postgres_write()


def _postgres_write_values(group: _Group) -> dict[str, list[Any]]:
    """The arrays of every write of the group, by parameter name."""
    deletes, updates, inserts = group.todo_writes()
    values: dict[str, list[Any]] = {}
    for (prefix, names), rows in zip(
        _POSTGRES_WRITE_ROWS,
        (deletes, updates, inserts, group.user_writes(), group.change_rows,
         group.operation_rows),
        strict=True,
    ):
        for name in names:
            values[prefix + name] = [row[name] for row in rows]
    return values


async def _run_postgres(driver: Any, group: _Group, dialect: Any) -> list[Outcome]:
    """The group on PostgreSQL in five round trips: BEGIN, the user locks, the reads, one
    write, COMMIT."""
    import asyncpg  # type: ignore[import-untyped]  # only on PostgreSQL

    lock_sql, lock_names = _Compiled.of(_POSTGRES_LOCK, dialect)
    read_sql, read_names = _Compiled.of(_POSTGRES_READS, dialect)
    write_sql, write_names = _Compiled.of(_POSTGRES_WRITE, dialect)
    values = _read_values(group)
    try:
        async with driver.transaction():
            seqs = await driver.fetch(lock_sql, *[values[n] for n in lock_names])
            stored: list[Any] = []
            found: list[Any] = []
            tops: list[Any] = []
            if group.op_ids or group.keys or group.top_users:
                for row in await driver.fetch(read_sql, *[values[n] for n in read_names]):
                    kind = row[0]
                    if kind == "o":
                        stored.append((row[1], row[2], row[3]))
                    elif kind == "t":
                        found.append(tuple(row[5:]))
                    else:
                        tops.append((row[1], row[4]))
            group.load(seqs, stored, found, tops)
            outcomes = group.apply_all()
            arrays = _postgres_write_values(group)
            await driver.fetchval(write_sql, *[arrays[name] for name in write_names])
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DBAPIError.instance("group commit", None, exc, Exception) from exc
    return outcomes
