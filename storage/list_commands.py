"""Write list commands (list_create, list_update, list_delete) and membership writes (join,
role, remove): the list rows, one change per member concerned (in each member's stream), and
the operation id with its answer.

These are rare next to todo commands and each reads a varying amount (a join writes every
todo of the list into the new member's stream), so they run through SQLAlchemy one command
after another (each in its own savepoint), in a transaction of their own: every user row the
group needs locked first, in id order. The rules are storage.list_rules; todo commands go
through storage.rules and the writer's fast paths (storage.writer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import list_rules
from storage.clock import utcnow
from storage.codec import dumps, loads
from storage.errors import CommandRejected
from storage.fanout import Tx
from storage.lists import role_in, roles_of
from storage.models import invitations, list_members, lists, operations
from storage.rules import Item, Outcome, reused_key
from storage.types import (
    Applied,
    Change,
    Command,
    JoinOp,
    Limits,
    ListCreateOp,
    ListDeleteOp,
    ListUpdateOp,
    Op,
    RemoveOp,
    RoleOp,
)

LIST_COMMANDS = frozenset({"list_create", "list_update", "list_delete", "join", "role",
                           "remove"})


def is_list_command(command: Command) -> bool:
    """Whether the command is written here (rather than by the todo rules)."""
    return not command.batch and command.ops[0].type in LIST_COMMANDS


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
            select(operations.c.answer, operations.c.fingerprint)
            .where(operations.c.user_id == user_id, operations.c.op_id == command.op_id)
        )).first()
        if stored is not None:
            refused = reused_key(stored.fingerprint, command)
            if refused is not None:
                raise refused
            first = loads(stored.answer)
            await _still_visible(conn, user_id, first)
            return Applied(answer=first, duplicate=True)

    (op,) = command.ops
    body = await _apply_op(tx, op)
    before = tx.seqs[user_id]
    changes = await tx.write()
    mine = tx.first_for_actor(0)
    answer: dict[str, Any] = {"seq": mine.seq if mine is not None else before, **body}
    if command.op_id is not None:
        await conn.execute(insert(operations).values(
            user_id=user_id, op_id=command.op_id, answer=dumps(answer), seq=tx.seqs[user_id],
            created_at=tx.now, fingerprint=command.fingerprint,
        ))
    return Applied(answer=answer, changes=changes)


async def _apply_op(tx: Tx, op: Op) -> dict[str, Any]:
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
    assert isinstance(op, RemoveOp), op
    return await list_rules.remove(tx, op)


async def _still_visible(conn: AsyncConnection, user_id: str, answer: dict[str, Any]) -> None:
    """A retried operation answers as it first did, unless the answer shows a list the user
    has lost access to since: then the list is missing for them."""
    seen: set[str] = set()
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
    tokens: set[str] = set()
    for op in command.ops:
        if isinstance(op, ListUpdateOp | ListDeleteOp | RoleOp | RemoveOp):
            list_ids.add(op.list_id)
        elif isinstance(op, JoinOp):
            tokens.add(op.token_hash)
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


async def leave_every_list(
    conn: AsyncConnection, user_id: str, limits: Limits | None = None, now: str | None = None,
) -> list[Change]:
    """Before an account is deleted: every list it owns is deleted (``list_removed`` with
    reason deleted to each member), it leaves every other list (its assignments there are
    cleared), in the caller's transaction; the changes for the other members, to publish
    after commit. The inbox goes with the account."""
    tx = Tx(conn, user_id, "account-deleted", None, now or utcnow(), limits or Limits())
    roles = await roles_of(conn, user_id)
    rows = await conn.execute(select(lists.c.id, lists.c.inbox)
                              .where(lists.c.id.in_(sorted(roles))))
    inboxes = {row.id for row in rows if row.inbox}
    members = await conn.execute(
        select(list_members.c.user_id).where(list_members.c.list_id.in_(sorted(roles))))
    await tx.lock([user_id, *members.scalars()])
    for list_id in sorted(set(roles) - inboxes):
        if roles[list_id] == "owner":
            await list_rules.delete(tx, ListDeleteOp(type="list_delete", list_id=list_id))
        else:
            await list_rules.remove(tx, RemoveOp(list_id, user_id))
    return [change for change in await tx.write() if change.user_id != user_id]
