"""The rules of the todo operations: create, update, delete.

Pure: each checks its operation against the ``View`` and stages the rows it writes, giving
the ``Effect`` or raising CommandRejected.
"""

from __future__ import annotations

from storage.codec import dumps
from storage.errors import CommandRejected
from storage.rules.state import SCOPE, Effect, Row, Rule, View, Wants
from storage.todos import todo_to_wire
from storage.types import CreateOp, DeleteOp, UpdateOp


def _scope(actor: str) -> str:
    """The scope of the actor's todos: their own (until a todo names its list)."""
    return actor


def _conflicting_version(row: Row, if_version: int | None) -> None:
    if if_version is not None and if_version != row["version"]:
        raise CommandRejected(
            "conflict", f"expected version {if_version}, the todo is at version {row['version']}",
            todo=todo_to_wire(row),
        )


def _create_reads(actor: str, op: CreateOp, wants: Wants) -> None:
    scope = _scope(actor)
    if op.todo.id is not None:
        wants.keys.add((scope, op.todo.id))
    if op.todo.order is None:
        wants.tops.add(scope)


def _create(view: View, actor: str, op: CreateOp) -> Effect:
    scope = _scope(actor)
    data = op.todo
    todo_id = data.id or view.new_id()
    if data.id is not None:
        existing = view.todo((scope, todo_id))
        if existing is not None:
            raise CommandRejected("conflict", f"a todo with id {todo_id} already exists",
                                  todo=todo_to_wire(existing))
    status = data.status
    if data.completed is not None:
        status = "completed" if data.completed else "pending"
    order = data.order
    if order is None:
        order = (view.top(scope) or 0.0) + 1.0
    now = view.now
    row = {
        SCOPE: scope, "id": todo_id, "title": data.title, "description": data.description,
        "status": status, "priority": data.priority, "due_at": data.due_at,
        "tags": dumps(data.tags), "order": order, "created_at": now, "updated_at": now,
        "completed_at": now if status == "completed" else None, "version": 1,
    }
    view.put((scope, todo_id), row)
    return Effect("create", scope, todo_to_wire(row))


def _by_id_reads(actor: str, op: UpdateOp | DeleteOp, wants: Wants) -> None:
    wants.keys.add((_scope(actor), op.todo_id))


def _update(view: View, actor: str, op: UpdateOp) -> Effect:
    scope = _scope(actor)
    row = view.existing((scope, op.todo_id))
    _conflicting_version(row, op.if_version)
    patch = op.patch.changes()
    values = dict(row)
    completed = patch.pop("completed", None)
    if completed is not None:
        patch["status"] = "completed" if completed else "pending"
    if "tags" in patch:
        patch["tags"] = dumps(patch["tags"])
    values.update(patch)
    was_done = row["status"] == "completed"
    is_done = values["status"] == "completed"
    if is_done and not was_done:
        values["completed_at"] = view.now
    elif was_done and not is_done:
        values["completed_at"] = None
    values["version"] = row["version"] + 1
    values["updated_at"] = view.now
    view.put((scope, op.todo_id), values)
    return Effect("update", scope, todo_to_wire(values))


def _delete(view: View, actor: str, op: DeleteOp) -> Effect:
    scope = _scope(actor)
    row = view.existing((scope, op.todo_id))
    _conflicting_version(row, op.if_version)
    view.put((scope, op.todo_id), None)
    return Effect("delete", scope, {"id": op.todo_id, "deleted": True,
                                    "version": row["version"] + 1})


TODO_RULES: dict[str, Rule] = {
    "create": Rule(_create_reads, _create),
    "update": Rule(_by_id_reads, _update),
    "delete": Rule(_by_id_reads, _delete),
}
