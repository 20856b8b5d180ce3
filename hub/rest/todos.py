"""Todos over REST: list, create, read, patch, delete, batch, stats. Writes call the
dispatcher, so live devices see them like any socket command."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.errors import ErrorCode, HubError
from hub.rest import answers
from hub.rest.bodies import Batch
from hub.rest.common import JSON, hub_of, path_uuid, signed_in, visible_list
from hub.rest.queries import ListScope, TodoFilters
from hub.rest.spec import Operation, query_of, routes_of
from hub.rest.writes import write_one
from storage.changes import log_position
from storage.clock import utcnow
from storage.todos import get_todo, list_todos, stats
from storage.types import BATCH_OPS, Op, TodoIn, TodoPatch, parse_batch, parse_op

BODY_LIMIT = 1024 * 1024


def _op(data: dict[str, Any]) -> Op:
    return parse_op(data, allowed=BATCH_OPS)


def _todo_id(request: Request) -> str:
    return path_uuid(request, "todo_id", "todo")


async def create(request: Request) -> Response:
    """Create a todo (201 with the todo)."""
    return await write_one(request, lambda body, _: _op({"type": "create", "todo": body}),
                           body_limit=BODY_LIMIT, answer="todo", status=201)


async def read(request: Request) -> Response:
    """One todo."""
    user, _ = await signed_in(request)
    todo_id = _todo_id(request)
    async with hub_of(request).db.read() as conn:
        todo = await get_todo(conn, user.id, todo_id)
    if todo is None:
        raise HubError(ErrorCode.NOT_FOUND, f"no todo with id {todo_id}")
    return JSON(todo)


async def patch(request: Request) -> Response:
    """Merge fields into a todo; If-Match gives 412 on a version mismatch."""
    return await write_one(request, lambda body, version: _op(
        {"type": "update", "todo_id": _todo_id(request), "patch": body,
         "if_version": version}), body_limit=BODY_LIMIT, answer="todo", versioned=True)


async def remove(request: Request) -> Response:
    """Delete a todo (204)."""
    return await write_one(request, lambda _, version: _op(
        {"type": "delete", "todo_id": _todo_id(request), "if_version": version}),
        body_limit=None, answer=None, versioned=True)


async def batch(request: Request) -> Response:
    """Apply up to max_batch operations atomically; answers seqs and todos."""
    max_ops = hub_of(request).settings.max_batch

    def ops(body: dict[str, Any] | None, _: int | None) -> list[Op]:
        if body is None or set(body) - {"ops"}:
            raise HubError(ErrorCode.VALIDATION, "expected {\"ops\": [...]}",
                           [{"field": "ops", "reason": "required list; no other fields"}])
        return parse_batch(body.get("ops"), max_ops)

    return await write_one(request, ops, body_limit=BODY_LIMIT, answer="*")


async def listing(request: Request) -> Response:
    """A filtered, sorted page of todos with the total and the current seq."""
    user, _ = await signed_in(request)
    query = query_of(TodoFilters, request).todo_query()
    async with hub_of(request).db.read(consistent=True) as conn:
        await visible_list(conn, user.id, query.list_id)
        items, total = await list_todos(conn, user.id, query, utcnow())
        seq, _ = await log_position(conn, user.id)
    pages = (total + query.per_page - 1) // query.per_page
    return JSON({"items": items, "total": total, "page": query.page, "per_page": query.per_page,
                 "pages": pages, "seq": seq})


async def statistics(request: Request) -> Response:
    """Totals per status, overdue and completion rate."""
    user, _ = await signed_in(request)
    list_id = query_of(ListScope, request).list_id
    async with hub_of(request).db.read() as conn:
        await visible_list(conn, user.id, list_id)
        result = await stats(conn, user.id, utcnow(), list_id)
    return JSON(result)


_WRITE = ("Idempotency-Key",)
operations = [
    Operation("GET", "/api/todos", listing, {200: answers.TodoPage}, "todos",
              query=TodoFilters, errors=(404,)),
    Operation("POST", "/api/todos", create, {201: answers.Todo}, "todos", body=TodoIn,
              headers=_WRITE, errors=(404, 409)),
    Operation("GET", "/api/todos/stats", statistics, {200: answers.Stats}, "todos",
              query=ListScope, errors=(404,)),
    Operation("POST", "/api/todos/batch", batch, {200: answers.BatchResult}, "todos",
              body=Batch, headers=_WRITE, errors=(404, 409)),
    Operation("GET", "/api/todos/{todo_id}", read, {200: answers.Todo}, "todos",
              errors=(404,)),
    Operation("PATCH", "/api/todos/{todo_id}", patch, {200: answers.Todo}, "todos",
              body=TodoPatch, headers=("If-Match", *_WRITE), errors=(404, 409, 412)),
    Operation("DELETE", "/api/todos/{todo_id}", remove, {204: None}, "todos",
              headers=("If-Match", *_WRITE), errors=(404, 409, 412)),
]
routes = routes_of(operations)
