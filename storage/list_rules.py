"""What list_create, list_update, list_delete and the membership writes (join by invitation,
role changes including handing ownership over, removal and leaving) do, and which members'
streams hear of it.

Every member's stream gets a ``list`` change (with that member's own role) when a list they
belong to changes; a member who stops belonging gets one ``list_removed``; a member who joins
gets the list and then one ``create`` per todo already in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import insert, select
from sqlalchemy import update as sql_update

from storage.access import OWNER, ROLES, require_role
from storage.errors import CommandRejected
from storage.fanout import Tx
from storage.invites import SPENT
from storage.lists import list_to_wire, members_of, new_list_id, owned_count, role_in
from storage.models import invitations, list_members, lists, todos
from storage.todos import todo_to_wire
from storage.types import JoinOp, ListCreateOp, ListDeleteOp, ListUpdateOp, RemoveOp, RoleOp


async def _list_row(tx: Tx, list_id: str) -> dict[str, Any]:
    row = (await tx.conn.execute(select(lists).where(lists.c.id == list_id))).first()
    if row is None:
        raise CommandRejected("not_found", f"no list with id {list_id}")
    return dict(row._mapping)


async def _bump(tx: Tx, row: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Raise the list's version (its name, members or roles changed)."""
    changed = {**values, "version": row["version"] + 1, "updated_at": tx.now}
    await tx.conn.execute(sql_update(lists).where(lists.c.id == row["id"]).values(changed))
    return {**row, **changed}


async def _announce(tx: Tx, row: dict[str, Any]) -> dict[str, Any]:
    """Emit the list as it is now to every member (each with their role); the actor's copy."""
    members = (await members_of(tx.conn, [row["id"]]))[row["id"]]
    mine: dict[str, Any] = {}
    for member in sorted(members, key=lambda m: m["user_id"]):
        wire = list_to_wire(row, members, member["role"])
        tx.emit(member["user_id"], "list", row["id"], {"list": wire})
        if member["user_id"] == tx.actor:
            mine = wire
    return mine


async def _as_seen(tx: Tx, row: dict[str, Any]) -> dict[str, Any]:
    members = (await members_of(tx.conn, [row["id"]]))[row["id"]]
    role = next((m["role"] for m in members if m["user_id"] == tx.actor), "viewer")
    return list_to_wire(row, members, role)


def _list_conflict(if_version: int | None, row: dict[str, Any], shown: dict[str, Any]) -> None:
    if if_version is not None and if_version != row["version"]:
        raise CommandRejected(
            "conflict", f"expected version {if_version}, the list is at version "
            f"{row['version']}", list=shown,
        )


async def _check_list_limit(tx: Tx, owner: str) -> None:
    if await owned_count(tx.conn, owner) >= tx.limits.max_lists:
        raise CommandRejected(
            "conflict", f"a user may own at most {tx.limits.max_lists} lists besides the inbox",
        )


async def create(tx: Tx, op: ListCreateOp) -> dict[str, Any]:
    """A new list owned by the actor."""
    list_id = op.list.id or new_list_id()
    if op.list.id is not None:
        existing = (await tx.conn.execute(select(lists).where(lists.c.id == list_id))).first()
        if existing is not None:
            if await role_in(tx.conn, tx.actor, list_id) is None:
                raise CommandRejected("not_found", f"list id {list_id} is not available")
            raise CommandRejected("conflict", f"a list with id {list_id} already exists",
                                  list=await _as_seen(tx, dict(existing._mapping)))
    await _check_list_limit(tx, tx.actor)
    row = {"id": list_id, "name": op.list.name, "inbox": False, "owner_id": tx.actor,
           "version": 1, "created_at": tx.now, "updated_at": tx.now}
    await tx.conn.execute(insert(lists).values(row))
    await tx.conn.execute(insert(list_members).values(
        list_id=list_id, user_id=tx.actor, role="owner", joined_at=tx.now))
    return await _announce(tx, row)


async def update(tx: Tx, op: ListUpdateOp) -> dict[str, Any]:
    """Rename the list (owner)."""
    members = await tx.members(op.list_id)
    require_role(members.get(tx.actor), op.list_id, OWNER, "rename")
    row = await _list_row(tx, op.list_id)
    _list_conflict(op.if_version, row, await _as_seen(tx, row))
    row = await _bump(tx, row, name=op.patch.name)
    return await _announce(tx, row)


async def delete(tx: Tx, op: ListDeleteOp) -> dict[str, Any]:
    """Delete the list and its todos (owner; never the inbox)."""
    members = await tx.members(op.list_id)
    require_role(members.get(tx.actor), op.list_id, OWNER, "delete")
    row = await _list_row(tx, op.list_id)
    if row["inbox"]:
        raise CommandRejected("forbidden", "the inbox cannot be deleted")
    _list_conflict(op.if_version, row, await _as_seen(tx, row))
    for table in (todos, invitations, list_members):
        await tx.conn.execute(sql_delete(table).where(table.c.list_id == op.list_id))
    await tx.conn.execute(sql_delete(lists).where(lists.c.id == op.list_id))
    for user_id in sorted(members):
        tx.emit(user_id, "list_removed", op.list_id,
                {"list": {"id": op.list_id}, "reason": "deleted"})
    return {"id": op.list_id, "deleted": True, "version": row["version"] + 1}


async def join(tx: Tx, op: JoinOp) -> dict[str, Any]:
    """Join the invitation's list with its role; a member keeps the role they have."""
    invite = (await tx.conn.execute(
        select(invitations).where(invitations.c.token_hash == op.token_hash)
    )).first()
    if (invite is None or invite.revoked_at is not None or invite.expires_at <= tx.now
            or invite.uses >= invite.max_uses):
        raise CommandRejected("not_found", SPENT)
    members = await tx.members(invite.list_id)
    row = await _list_row(tx, invite.list_id)
    if tx.actor in members:
        return await _as_seen(tx, row)
    if len(members) >= tx.limits.max_members:
        raise CommandRejected(
            "conflict", f"the list has the most members allowed ({tx.limits.max_members})",
        )
    await tx.conn.execute(insert(list_members).values(
        list_id=row["id"], user_id=tx.actor, role=invite.role, joined_at=tx.now))
    await tx.conn.execute(
        sql_update(invitations).where(invitations.c.id == invite.id)
        .values(uses=invite.uses + 1)
    )
    row = await _bump(tx, row)
    mine = await _announce(tx, row)
    found = await tx.conn.execute(
        select(todos).where(todos.c.list_id == row["id"]).order_by(todos.c.order, todos.c.id)
    )
    for todo in found:
        tx.emit(tx.actor, "create", todo.id, {"todo": todo_to_wire(todo)})
    return mine


async def set_role(tx: Tx, op: RoleOp) -> dict[str, Any]:
    """Give a member another role (owner); the role owner hands ownership over, and the old
    owner becomes an editor."""
    if op.role not in ROLES:
        raise CommandRejected("validation", f"invalid role: {op.role!r}",
                              [{"field": "role", "reason": "must be owner, editor or viewer"}])
    members = await tx.members(op.list_id)
    require_role(members.get(tx.actor), op.list_id, OWNER, "change roles in")
    if op.user_id not in members:
        raise CommandRejected("not_found", f"no member {op.user_id} in list {op.list_id}")
    row = await _list_row(tx, op.list_id)
    if op.user_id == tx.actor and op.role != "owner":
        raise CommandRejected(
            "forbidden", "the owner hands ownership over by giving another member the role "
            "owner; they cannot give up the role otherwise",
        )
    if members[op.user_id] == op.role:
        return await _as_seen(tx, row)
    changes: dict[str, Any] = {}
    if op.role == "owner":
        await _check_list_limit(tx, op.user_id)
        await _set_member_role(tx, op.list_id, tx.actor, "editor")
        changes["owner_id"] = op.user_id
    await _set_member_role(tx, op.list_id, op.user_id, op.role)
    row = await _bump(tx, row, **changes)
    return await _announce(tx, row)


async def _set_member_role(tx: Tx, list_id: str, user_id: str, role: str) -> None:
    await tx.conn.execute(
        sql_update(list_members)
        .where(list_members.c.list_id == list_id, list_members.c.user_id == user_id)
        .values(role=role)
    )


async def remove(tx: Tx, op: RemoveOp) -> dict[str, Any]:
    """Remove a member (owner), or leave (any member but the owner). Their assignments in
    the list are cleared, as changes for those who stay."""
    members = await tx.members(op.list_id)
    if tx.actor not in members:
        raise CommandRejected("not_found", f"no list with id {op.list_id}")
    if op.user_id == tx.actor:
        if members[tx.actor] == "owner":
            raise CommandRejected(
                "forbidden", "the owner cannot leave a list without handing ownership over",
            )
        reason = "left"
    else:
        require_role(members.get(tx.actor), op.list_id, OWNER, "remove members from")
        if op.user_id not in members:
            raise CommandRejected("not_found", f"no member {op.user_id} in list {op.list_id}")
        reason = "removed"
    row = await _list_row(tx, op.list_id)
    await tx.conn.execute(sql_delete(list_members).where(
        list_members.c.list_id == op.list_id, list_members.c.user_id == op.user_id))
    row = await _bump(tx, row)
    await _announce(tx, row)
    staying = {user_id: role for user_id, role in members.items() if user_id != op.user_id}
    await clear_assignee(tx, op.list_id, op.user_id, staying)
    tx.emit(op.user_id, "list_removed", op.list_id,
            {"list": {"id": op.list_id}, "reason": reason})
    return {}


async def clear_assignee(tx: Tx, list_id: str, user_id: str,
                         members: dict[str, str]) -> None:
    """Unassign ``user_id`` from every todo of the list (they stopped being a member); each
    such todo changes, for ``members``."""
    rows = (await tx.conn.execute(
        select(todos).where(todos.c.list_id == list_id, todos.c.assignee == user_id)
        .order_by(todos.c.order, todos.c.id)
    )).all()
    for found in rows:
        values = {**found._mapping, "assignee": None, "version": found.version + 1,
                  "updated_at": tx.now}
        await tx.conn.execute(
            sql_update(todos).where(todos.c.id == found.id)
            .values(assignee=None, version=values["version"], updated_at=tx.now)
        )
        todo = todo_to_wire(values)
        for member in sorted(members):
            tx.emit(member, "update", found.id, {"todo": todo})
