"""The rules of the todo operations: create, update (with moves and assignment), delete.

Pure: each checks its operation against the ``View`` and stages the rows it writes, giving
the ``Effect`` or raising CommandRejected. A todo's scope is its list; access is membership
(storage.access): a todo in a list the actor does not belong to is missing for them, a
viewer's write (or a move into a list the actor only views) is forbidden.
"""

from __future__ import annotations

from typing import Any

from storage.access import require_role
from storage.codec import dumps
from storage.errors import CommandRejected
from storage.rules.state import Effect, Row, Rule, TodoKey, View, Wants
from storage.todos import todo_to_wire
from storage.types import CreateOp, DeleteOp, UpdateOp


def _conflicting_version(row: Row, if_version: int | None) -> None:
    if if_version is not None and if_version != row["version"]:
        raise CommandRejected(
            "conflict", f"expected version {if_version}, the todo is at version {row['version']}",
            todo=todo_to_wire(row),
        )


def _assignee_check(members: dict[str, str], assignee: str | None, list_id: str,
                    field: str) -> None:
    if assignee is not None and assignee not in members:
        raise CommandRejected(
            "validation", f"invalid {field}: {assignee} is not a member of list {list_id}",
            [{"field": field, "reason": "must be a member of the list, or null"}],
        )


def _create_reads(actor: str, op: CreateOp, wants: Wants) -> None:
    if op.todo.id is not None:
        wants.todo_ids.add(op.todo.id)
    if op.todo.list_id is not None:
        wants.lists.add(op.todo.list_id)
        if op.todo.order is None:
            wants.tops.add(op.todo.list_id)
    elif op.todo.order is None:
        wants.inbox_tops.add(actor)


def _create(view: View, actor: str, op: CreateOp) -> Effect:
    data = op.todo
    scope = data.list_id or view.inbox(actor)
    require_role(view.role(actor, scope), scope, action="add todos to")
    todo_id = data.id or view.new_id()
    if data.id is not None:
        taken = view.locate(todo_id)
        if taken is not None:
            if view.role(actor, taken[0]) is None:
                # Taken by a todo this user cannot see: as for anything missing.
                raise CommandRejected("not_found", f"todo id {todo_id} is not available")
            existing = view.existing(taken)
            raise CommandRejected("conflict", f"a todo with id {todo_id} already exists",
                                  todo=todo_to_wire(existing))
    _assignee_check(view.members(scope), data.assignee, scope, "todo.assignee")
    status = data.status
    if data.completed is not None:
        status = "completed" if data.completed else "pending"
    order = data.order
    if order is None:
        order = (view.top(scope) or 0.0) + 1.0
    now = view.now
    row = {
        "id": todo_id, "list_id": scope, "assignee": data.assignee, "title": data.title,
        "description": data.description, "status": status, "priority": data.priority,
        "due_at": data.due_at, "tags": dumps(data.tags), "order": order, "created_at": now,
        "updated_at": now, "completed_at": now if status == "completed" else None,
        "version": 1,
    }
    view.put((scope, todo_id), row)
    return Effect("create", scope, todo_to_wire(row))


def _by_id_reads(actor: str, op: UpdateOp | DeleteOp, wants: Wants) -> None:
    wants.todo_ids.add(op.todo_id)
    if isinstance(op, UpdateOp) and op.patch.list_id is not None:
        wants.lists.add(op.patch.list_id)


def _writable(view: View, actor: str, todo_id: str, action: str) -> tuple[TodoKey, Row]:
    """The todo's key and row, when the actor may change it."""
    key = view.locate(todo_id)
    if key is None or view.role(actor, key[0]) is None:
        raise CommandRejected("not_found", f"no todo with id {todo_id}")
    require_role(view.role(actor, key[0]), key[0], action=action)
    return key, view.existing(key)


def _update(view: View, actor: str, op: UpdateOp) -> Effect:
    key, row = _writable(view, actor, op.todo_id, "change")
    source = key[0]
    _conflicting_version(row, op.if_version)
    patch = op.patch.changes()
    target = patch.pop("list_id", source)
    if target != source:
        require_role(view.role(actor, target), target, action="move todos into")
    members = view.members(target)
    if "assignee" in patch:
        _assignee_check(members, patch["assignee"], target, "patch.assignee")
    elif row["assignee"] is not None and row["assignee"] not in members:
        patch["assignee"] = None  # moved where the assignee is not a member
    values = dict(row)
    completed = patch.pop("completed", None)
    if completed is not None:
        patch["status"] = "completed" if completed else "pending"
    if "tags" in patch:
        patch["tags"] = dumps(patch["tags"])
    values.update(patch)
    values["list_id"] = target
    was_done = row["status"] == "completed"
    is_done = values["status"] == "completed"
    if is_done and not was_done:
        values["completed_at"] = view.now
    elif was_done and not is_done:
        values["completed_at"] = None
    values["version"] = row["version"] + 1
    values["updated_at"] = view.now
    todo = todo_to_wire(values)
    if target == source:
        view.put(key, values)
        return Effect("update", source, todo)
    view.put(key, None)
    view.put((target, op.todo_id), values)
    return Effect("update", target, todo, _move_fanout(view, source, target, todo))


def _move_fanout(view: View, source: str, target: str,
                 todo: dict[str, Any]) -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """Members of both lists see an update; of the new list only, a create; of the old list
    only, the todo leaves (as a delete: the protocol has no other way to drop one todo)."""
    before, after = view.members(source), view.members(target)
    gone = {"id": todo["id"], "deleted": True, "version": todo["version"]}
    fanout = []
    for user_id in sorted(set(before) | set(after)):
        if user_id not in after:
            fanout.append((user_id, "delete", gone))
        else:
            fanout.append((user_id, "update" if user_id in before else "create", todo))
    return tuple(fanout)


def _delete(view: View, actor: str, op: DeleteOp) -> Effect:
    key, row = _writable(view, actor, op.todo_id, "delete todos of")
    _conflicting_version(row, op.if_version)
    view.put(key, None)
    return Effect("delete", key[0], {"id": op.todo_id, "deleted": True,
                                     "version": row["version"] + 1})


TODO_RULES: dict[str, Rule] = {
    "create": Rule(_create_reads, _create),
    "update": Rule(_by_id_reads, _update),
    "delete": Rule(_by_id_reads, _delete),
}
