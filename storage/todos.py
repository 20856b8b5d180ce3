"""Membership-scoped reads of todos: one, filtered pages and stats (snapshots elsewhere).

A todo is visible to the members of its list; to anyone else it does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.codec import loads
from storage.models import list_members, todos
from storage.types import PRIORITY_RANK

SORT_KEYS = ("created_at", "updated_at", "due_at", "priority", "title", "order")


def new_todo_id() -> str:
    """A fresh todo id."""
    return str(uuid.uuid4())


def todo_to_wire(row: Any) -> dict[str, Any]:
    """A todo row (or its values) as the wire's todo object."""
    data: Any = SimpleNamespace(**row) if isinstance(row, Mapping) else row
    tags = data.tags
    return {
        "id": data.id,
        "list_id": data.list_id,
        "assignee": data.assignee,
        "title": data.title,
        "description": data.description,
        "status": data.status,
        "completed": data.status == "completed",
        "priority": data.priority,
        "due_at": data.due_at,
        "tags": _tags(tags) if isinstance(tags, str) else list(tags),
        "order": data.order,
        "created_at": data.created_at,
        "updated_at": data.updated_at,
        "completed_at": data.completed_at,
        "version": data.version,
    }


def _tags(stored: str) -> list[str]:
    # Most todos have no tags; their stored "[]" needs no parse.
    tags: list[str] = [] if stored == "[]" else loads(stored)
    return tags


def _member_lists(user_id: str) -> Any:
    """The ids of the lists the user belongs to, as a subquery."""
    return select(list_members.c.list_id).where(list_members.c.user_id == user_id)


async def get_todo(conn: AsyncConnection, user_id: str, todo_id: str) -> dict[str, Any] | None:
    """One todo in a list of the user, or None (also for a todo in anyone else's list)."""
    row = (
        await conn.execute(select(todos).where(todos.c.id == todo_id,
                                               todos.c.list_id.in_(_member_lists(user_id))))
    ).first()
    return todo_to_wire(row) if row is not None else None


@dataclass(frozen=True)
class TodoQuery:
    """Filters, sort and page of GET /api/todos, already validated."""

    status: str | None = None
    completed: bool | None = None
    priority: str | None = None
    tag: str | None = None
    q: str | None = None
    due_before: str | None = None
    due_after: str | None = None
    overdue: bool | None = None
    list_id: str | None = None
    # "me", "none" or a user id.
    assignee: str | None = None
    sort: str = "order"
    page: int = 1
    per_page: int = 50


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scope(user_id: str, list_id: str | None) -> list[Any]:
    conditions: list[Any] = [todos.c.list_id.in_(_member_lists(user_id))]
    if list_id is not None:
        conditions.append(todos.c.list_id == list_id)
    return conditions


def _has_tag(tag: str, dialect: str) -> Any:
    """The todo's tags (a JSON array in a text column) hold ``tag`` as one whole element.

    Matching the JSON text instead would miss tags whose encoding escapes characters
    (``"``, ``\\``) and find a tag inside another tag's encoding."""
    if dialect == "postgresql":
        # jsonb's ``?``: a top-level string element equal to the tag.
        return cast(todos.c.tags, JSONB).has_key(tag)
    elements = func.json_each(todos.c.tags).table_valued("value")
    return select(literal(1)).select_from(elements).where(elements.c.value == tag).exists()


def _filtered(user_id: str, query: TodoQuery, now: str, dialect: str) -> Select[Any]:
    conditions = _scope(user_id, query.list_id)
    if query.assignee == "none":
        conditions.append(todos.c.assignee.is_(None))
    elif query.assignee is not None:
        conditions.append(todos.c.assignee == (user_id if query.assignee == "me"
                                               else query.assignee))
    if query.status is not None:
        conditions.append(todos.c.status == query.status)
    if query.completed is not None:
        done = todos.c.status == "completed"
        conditions.append(done if query.completed else ~done)
    if query.priority is not None:
        conditions.append(todos.c.priority == query.priority)
    if query.tag is not None:
        conditions.append(_has_tag(query.tag.strip().lower(), dialect))
    if query.q:
        pattern = f"%{_like_escape(query.q)}%"
        conditions.append(
            or_(
                todos.c.title.ilike(pattern, escape="\\"),
                todos.c.description.ilike(pattern, escape="\\"),
            )
        )
    if query.due_before is not None:
        conditions.append(todos.c.due_at < query.due_before)
    if query.due_after is not None:
        conditions.append(todos.c.due_at > query.due_after)
    if query.overdue is not None:
        late = and_(
            todos.c.due_at.is_not(None),
            todos.c.due_at < now,
            todos.c.status.not_in(("completed", "cancelled")),
        )
        conditions.append(late if query.overdue else ~late)
    return select(todos).where(*conditions)


_PRIORITY = case(PRIORITY_RANK, value=todos.c.priority)


async def list_todos(
    conn: AsyncConnection, user_id: str, query: TodoQuery, now: str
) -> tuple[list[dict[str, Any]], int]:
    """A page of the user's todos and the total matching."""
    base = _filtered(user_id, query, now, conn.dialect.name)
    total = (
        await conn.execute(select(func.count()).select_from(base.subquery()))
    ).scalar_one()
    descending = query.sort.startswith("-")
    key = query.sort.lstrip("-")
    column = _PRIORITY if key == "priority" else todos.c[key]
    ordering: list[Any] = [column.desc() if descending else column.asc()]
    if key == "due_at":
        # Todos without a due date come last either way.
        ordering.insert(0, todos.c.due_at.is_(None))
    ordering.append(todos.c.id.desc() if descending else todos.c.id.asc())
    rows = await conn.execute(
        base.order_by(*ordering).limit(query.per_page).offset((query.page - 1) * query.per_page)
    )
    return [todo_to_wire(row) for row in rows], total


async def stats(
    conn: AsyncConnection, user_id: str, now: str, list_id: str | None = None
) -> dict[str, Any]:
    """Counts per status, overdue, and the completion rate in percent, over one list of the
    user or all of them."""
    scope = _scope(user_id, list_id)
    rows = await conn.execute(
        select(todos.c.status, func.count()).where(*scope).group_by(todos.c.status)
    )
    counts = {"pending": 0, "in_progress": 0, "completed": 0, "cancelled": 0}
    for status, count in rows:
        counts[status] = count
    overdue = (
        await conn.execute(
            select(func.count()).where(
                *scope,
                todos.c.due_at.is_not(None),
                todos.c.due_at < now,
                todos.c.status.not_in(("completed", "cancelled")),
            )
        )
    ).scalar_one()
    total = sum(counts.values())
    rate = round(100.0 * counts["completed"] / total, 1) if total else 0.0
    return {"total": total, **counts, "overdue": overdue, "completion_rate": rate}
