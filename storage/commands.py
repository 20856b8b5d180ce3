"""Apply commands: todo and list rows, one change per member of each list touched (in each
member's stream), and the operation id with its answer.

- ``apply``: one command, on a connection whose transaction the caller owns;
- ``apply_group`` / ``GroupWriter`` / ``write_group``: a group of commands in one transaction,
  every user row the group needs locked first in id order, each command in its own savepoint
  (a refused one leaves no trace and does not undo its neighbours).

The rules of the todo operations live in storage.todo_rules, those of lists and membership
in storage.list_rules; this module runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import list_rules, todo_rules
from storage.clock import utcnow
from storage.codec import dumps, loads
from storage.engine import Database
from storage.errors import CommandRejected
from storage.fanout import Tx
from storage.lists import role_in
from storage.models import invitations, list_members, operations, todos
from storage.types import (
    Applied,
    Command,
    CreateOp,
    DeleteOp,
    JoinOp,
    Limits,
    ListCreateOp,
    ListDeleteOp,
    ListUpdateOp,
    Op,
    RemoveOp,
    RoleOp,
    UpdateOp,
)

Outcome = Applied | CommandRejected
Item = tuple[str, Command, str]  # (user id, command, device)


async def apply(
    conn: AsyncConnection, user_id: str, command: Command, device: str,
    limits: Limits | None = None, now: str | None = None,
) -> Applied:
    """Apply ``command`` for ``user_id`` on ``conn``; raise CommandRejected and change nothing
    (within the caller's savepoint) when any operation is refused."""
    tx = Tx(conn, user_id, device, command.op_id, now or utcnow(), limits or Limits())
    # The user rows first, in id order: the actor's orders its writers and makes the
    # operation-id check race-free; the members' order their streams.
    await tx.lock([user_id, *await involved_users(conn, user_id, command)])
    if user_id not in tx.seqs:
        raise CommandRejected("not_found", "the user no longer exists")
    if command.op_id is not None:
        stored = (await conn.execute(
            select(operations.c.answer).where(operations.c.user_id == user_id,
                                              operations.c.op_id == command.op_id)
        )).scalar()
        if stored is not None:
            answer = loads(stored)
            await _still_visible(conn, user_id, answer)
            return Applied(answer=answer, duplicate=True)

    results: list[tuple[int, dict[str, Any]]] = []  # (first emit index, answer body)
    for index, op in enumerate(command.ops):
        start = len(tx.emits)
        try:
            results.append((start, await _apply_op(tx, op)))
        except CommandRejected as exc:
            if command.batch:
                exc.message = f"ops.{index}: {exc.message}"
                for detail in exc.details or []:
                    detail["field"] = f"ops.{index}.{detail['field']}"
            raise
    before = tx.seqs[user_id]
    frames = await tx.write()

    seqs = []
    for start, _ in results:
        mine = tx.first_for_actor(start)
        seqs.append(mine.seq if mine is not None else before)
    answer: dict[str, Any]
    if command.batch:
        answer = {"seqs": seqs, "todos": [body["todo"] for _, body in results]}
    else:
        answer = {"seq": seqs[0], **results[0][1]}
    if command.op_id is not None:
        await conn.execute(insert(operations).values(
            user_id=user_id, op_id=command.op_id, answer=dumps(answer), seq=tx.seqs[user_id],
            created_at=tx.now,
        ))
    return Applied(answer=answer, frames=frames)


async def _apply_op(tx: Tx, op: Op) -> dict[str, Any]:
    if isinstance(op, CreateOp):
        return {"todo": await todo_rules.create(tx, op)}
    if isinstance(op, UpdateOp):
        return {"todo": await todo_rules.update(tx, op)}
    if isinstance(op, DeleteOp):
        return {"todo": await todo_rules.delete(tx, op)}
    if isinstance(op, ListCreateOp):
        return {"list": await list_rules.create(tx, op)}
    if isinstance(op, ListUpdateOp):
        return {"list": await list_rules.update(tx, op)}
    if isinstance(op, ListDeleteOp):
        return {"list": await list_rules.delete(tx, op)}
    if isinstance(op, JoinOp):
        return {"list": await list_rules.join(tx, op)}
    if isinstance(op, RoleOp):
        return {"list": await list_rules.set_role(tx, op)}
    return await list_rules.remove(tx, op)


async def _still_visible(conn: AsyncConnection, user_id: str, answer: dict[str, Any]) -> None:
    """A retried operation answers as it first did, unless the answer shows a list (or a
    todo in one) the user has lost access to since: then the list is missing for them."""
    seen: set[str] = set()
    todo = answer.get("todo")
    if isinstance(todo, dict) and "list_id" in todo:
        seen.add(todo["list_id"])
    for item in answer.get("todos") or []:
        if isinstance(item, dict) and "list_id" in item:
            seen.add(item["list_id"])
    shown = answer.get("list")
    if isinstance(shown, dict) and not shown.get("deleted") and "members" in shown:
        seen.add(shown["id"])
    for list_id in sorted(seen):
        if await role_in(conn, user_id, list_id) is None:
            raise CommandRejected("not_found", f"no list with id {list_id}")


async def involved_users(conn: AsyncConnection, user_id: str, command: Command) -> set[str]:
    """The members of every list the command may touch (read without locks: the writer
    locks them, in id order, before it reads anything else)."""
    list_ids: set[str] = set()
    todo_ids: set[str] = set()
    tokens: set[str] = set()
    for op in command.ops:
        if isinstance(op, CreateOp):
            if op.todo.list_id is not None:
                list_ids.add(op.todo.list_id)
        elif isinstance(op, UpdateOp):
            todo_ids.add(op.todo_id)
            if op.patch.list_id is not None:
                list_ids.add(op.patch.list_id)
        elif isinstance(op, DeleteOp):
            todo_ids.add(op.todo_id)
        elif isinstance(op, ListUpdateOp | ListDeleteOp | RoleOp | RemoveOp):
            list_ids.add(op.list_id)
        elif isinstance(op, JoinOp):
            tokens.add(op.token_hash)
    if todo_ids:
        rows = await conn.execute(select(todos.c.list_id).where(todos.c.id.in_(todo_ids)))
        list_ids.update(rows.scalars())
    if tokens:
        rows = await conn.execute(
            select(invitations.c.list_id).where(invitations.c.token_hash.in_(tokens))
        )
        list_ids.update(rows.scalars())
    if not list_ids:
        return set()
    rows = await conn.execute(
        select(list_members.c.user_id).where(list_members.c.list_id.in_(list_ids))
    )
    return set(rows.scalars())


async def apply_group(
    conn: AsyncConnection, items: Sequence[Item], limits: Limits | None = None
) -> list[Outcome]:
    """Apply each ``(user id, command, device)`` in order in the caller's transaction, each
    in a savepoint; every user row the group needs is locked first, in id order."""
    needed: set[str] = set()
    for user_id, command, _ in items:
        needed.add(user_id)
        needed |= await involved_users(conn, user_id, command)
    await Tx(conn, "", "", None, "", limits or Limits()).lock(needed)
    outcomes: list[Outcome] = []
    for user_id, command, device in items:
        try:
            async with conn.begin_nested():
                outcomes.append(await apply(conn, user_id, command, device, limits))
        except CommandRejected as exc:
            outcomes.append(exc)
    return outcomes


async def write_group(
    db: Database, items: Sequence[Item], limits: Limits | None = None
) -> list[Outcome]:
    """Apply each ``(user id, command, device)`` in order, in one transaction that this
    function begins and commits; each outcome is the command's Applied or the
    CommandRejected that refused it (and changed nothing). A database error rolls the whole
    group back and propagates (as SQLAlchemy's DBAPIError)."""
    async with db.write() as conn:
        return await apply_group(conn, items, limits)


class GroupWriter:
    """Writes groups of commands (see :func:`write_group`) for one writer task."""

    def __init__(self, db: Database, limits: Limits | None = None) -> None:
        self._db = db
        self._limits = limits or Limits()

    async def write(self, items: Sequence[Item]) -> list[Outcome]:
        """Apply ``items`` in one transaction (see :func:`write_group`)."""
        return await write_group(self._db, items, self._limits)

    async def close(self) -> None:
        """Nothing is held between groups."""
