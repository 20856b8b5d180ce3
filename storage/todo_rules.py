"""What create, update (with moves and assignment) and delete do to a todo, and which
members' streams hear of it.

Access is membership of the todo's list: a todo in a list the actor does not belong to is
missing for them (not_found); a viewer's write, or a move into a list the actor only views,
is forbidden.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, insert, select
from sqlalchemy import update as sql_update

from storage.codec import dumps
from storage.errors import CommandRejected
from storage.fanout import Tx
from storage.lists import WRITERS, inbox_of, role_in
from storage.models import todos
from storage.todos import new_todo_id, todo_to_wire
from storage.types import CreateOp, DeleteOp, UpdateOp

_WRITTEN = ("list_id", "assignee", "title", "description", "status", "priority", "due_at",
            "tags", "order", "completed_at", "version", "updated_at")


def require_role(members: dict[str, str], actor: str, list_id: str,
                 allowed: frozenset[str] = WRITERS, action: str = "change") -> str:
    """The actor's role in a list: not_found when not a member, forbidden when the role is
    not among ``allowed``."""
    role = members.get(actor)
    if role is None:
        raise CommandRejected("not_found", f"no list with id {list_id}")
    if role not in allowed:
        raise CommandRejected(
            "forbidden", f"a {role} of list {list_id} may not {action} it "
            f"(needs {' or '.join(sorted(allowed))})",
        )
    return role


def _assignee_check(members: dict[str, str], assignee: str | None, list_id: str,
                    field: str) -> None:
    if assignee is not None and assignee not in members:
        raise CommandRejected(
            "validation", f"invalid {field}: {assignee} is not a member of list {list_id}",
            [{"field": field, "reason": "must be a member of the list, or null"}],
        )


async def _row(tx: Tx, todo_id: str) -> dict[str, Any]:
    row = (await tx.conn.execute(select(todos).where(todos.c.id == todo_id))).first()
    if row is None:
        raise CommandRejected("not_found", f"no todo with id {todo_id}")
    return dict(row._mapping)


def _version_check(row: dict[str, Any], if_version: int | None) -> None:
    if if_version is not None and if_version != row["version"]:
        raise CommandRejected(
            "conflict",
            f"expected version {if_version}, the todo is at version {row['version']}",
            todo=todo_to_wire(row),
        )


async def _writable(tx: Tx, todo_id: str, action: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The todo and its list's members, when the actor may change it."""
    row = await _row(tx, todo_id)
    members = await tx.members(row["list_id"])
    if tx.actor not in members:
        raise CommandRejected("not_found", f"no todo with id {todo_id}")
    require_role(members, tx.actor, row["list_id"], action=action)
    return row, members


def _to_members(tx: Tx, members: dict[str, str], op: str, todo: dict[str, Any]) -> None:
    body = {"todo": todo}
    for user_id in sorted(members):
        tx.emit(user_id, op, todo["id"], body)


async def create(tx: Tx, op: CreateOp) -> dict[str, Any]:
    """A new todo in the given list (default: the actor's inbox)."""
    data = op.todo
    list_id = data.list_id or await inbox_of(tx.conn, tx.actor)
    members = await tx.members(list_id)
    require_role(members, tx.actor, list_id, action="add todos to")
    todo_id = data.id or new_todo_id()
    if data.id is not None:
        existing = (await tx.conn.execute(select(todos).where(todos.c.id == todo_id))).first()
        if existing is not None:
            if await role_in(tx.conn, tx.actor, existing.list_id) is None:
                # Taken by a todo this user cannot see: as for any missing thing.
                raise CommandRejected("not_found", f"todo id {todo_id} is not available")
            raise CommandRejected("conflict", f"a todo with id {todo_id} already exists",
                                  todo=todo_to_wire(existing))
    _assignee_check(members, data.assignee, list_id, "todo.assignee")
    status = data.status
    if data.completed is not None:
        status = "completed" if data.completed else "pending"
    order = data.order
    if order is None:
        top = (await tx.conn.execute(
            select(func.max(todos.c.order)).where(todos.c.list_id == list_id)
        )).scalar()
        order = (top or 0.0) + 1.0
    now = tx.now
    values = {
        "id": todo_id, "list_id": list_id, "assignee": data.assignee, "title": data.title,
        "description": data.description, "status": status, "priority": data.priority,
        "due_at": data.due_at, "tags": dumps(data.tags), "order": order, "created_at": now,
        "updated_at": now, "completed_at": now if status == "completed" else None,
        "version": 1,
    }
    await tx.conn.execute(insert(todos).values(values))
    todo = todo_to_wire(values)
    _to_members(tx, members, "create", todo)
    return todo


async def update(tx: Tx, op: UpdateOp) -> dict[str, Any]:
    """Merge the patch; a new ``list_id`` moves the todo (editor or owner of both lists)."""
    row, members = await _writable(tx, op.todo_id, "change")
    _version_check(row, op.if_version)
    patch = op.patch.changes()
    source = row["list_id"]
    target = patch.pop("list_id", source)
    targets = members
    if target != source:
        targets = await tx.members(target)
        require_role(targets, tx.actor, target, action="move todos into")
    if "assignee" in patch:
        _assignee_check(targets, patch["assignee"], target, "patch.assignee")
    elif row["assignee"] is not None and row["assignee"] not in targets:
        patch["assignee"] = None  # moved where the assignee is not a member
    completed = patch.pop("completed", None)
    if completed is not None:
        patch["status"] = "completed" if completed else "pending"
    if "tags" in patch:
        patch["tags"] = dumps(patch["tags"])
    values = {**row, **patch, "list_id": target}
    was_done = row["status"] == "completed"
    is_done = values["status"] == "completed"
    if is_done and not was_done:
        values["completed_at"] = tx.now
    elif was_done and not is_done:
        values["completed_at"] = None
    values["version"] = row["version"] + 1
    values["updated_at"] = tx.now
    await tx.conn.execute(
        sql_update(todos).where(todos.c.id == op.todo_id)
        .values({name: values[name] for name in _WRITTEN})
    )
    todo = todo_to_wire(values)
    if target == source:
        _to_members(tx, members, "update", todo)
    else:
        # Members of both lists see an update; of the new list only, a create; of the old
        # list only, the todo leaves (as a delete: no per-list removal frame exists).
        gone = {"id": todo["id"], "deleted": True, "version": todo["version"]}
        for user_id in sorted(set(members) | set(targets)):
            if user_id not in targets:
                tx.emit(user_id, "delete", todo["id"], {"todo": gone})
            else:
                tx.emit(user_id, "update" if user_id in members else "create", todo["id"],
                        {"todo": todo})
    return todo


async def delete(tx: Tx, op: DeleteOp) -> dict[str, Any]:
    """Remove the todo; its delete raises the version by one."""
    row, members = await _writable(tx, op.todo_id, "delete todos of")
    _version_check(row, op.if_version)
    await tx.conn.execute(sql_delete(todos).where(todos.c.id == op.todo_id))
    gone = {"id": op.todo_id, "deleted": True, "version": row["version"] + 1}
    _to_members(tx, members, "delete", gone)
    return gone


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
        _to_members(tx, members, "update", todo_to_wire(values))
