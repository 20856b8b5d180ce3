"""Apply one command in one transaction: todo rows, the user's seq, one change-log row per
change, and the operation id with its answer.

The caller owns the transaction (so several commands can share one commit, each in its own
savepoint); this module only issues statements on the connection it is given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import utcnow
from storage.codec import dumps, loads
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
