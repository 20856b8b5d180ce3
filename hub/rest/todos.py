"""Todos over REST: list, create, read, patch, delete, batch, stats. Writes call the
dispatcher, so live devices see them like any socket command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import ErrorCode, HubError
from hub.rest.common import (
    JSON,
    conflict_to_412,
    fingerprint,
    hub_of,
    if_match,
    json_body,
    json_object,
    list_param,
    operation_id,
    path_uuid,
    run_command,
    signed_in,
    visible_list,
)
from storage.clock import format_time, utcnow
from storage.errors import CommandRejected
from storage.todos import SORT_KEYS, TodoQuery, get_todo, list_todos, stats
from storage.types import BATCH_OPS, Command, parse_batch, parse_op

BODY_LIMIT = 1024 * 1024


def _parse(data: Any) -> Any:
    try:
        return parse_op(data, allowed=BATCH_OPS)
    except CommandRejected as exc:
        raise HubError(exc.code, exc.message, exc.details) from None


async def create(request: Request) -> Response:
    """Create a todo (201 with the todo)."""
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    body = await json_object(request, BODY_LIMIT)
    op = _parse({"type": "create", "todo": body})
    answer = await run_command(request, user.id,
                        Command(op_id, [op], fingerprint=fingerprint(request, body)))
    return JSON(answer["todo"], status_code=201)


async def read(request: Request) -> Response:
    """One todo."""
    user, _ = await signed_in(request)
    todo_id = request.path_params["todo_id"]
    async with hub_of(request).db.read() as conn:
        todo = await get_todo(conn, user.id, todo_id)
    if todo is None:
        raise HubError(ErrorCode.NOT_FOUND, f"no todo with id {todo_id}")
    return JSON(todo)


async def patch(request: Request) -> Response:
    """Merge fields into a todo; If-Match gives 412 on a version mismatch."""
    user, _ = await signed_in(request)
    op_id, if_version = operation_id(request), if_match(request)
    body = await json_object(request, BODY_LIMIT)
    op = _parse({"type": "update", "todo_id": _todo_id(request), "patch": body,
                 "if_version": if_version})
    try:
        answer = await run_command(request, user.id,
                            Command(op_id, [op], fingerprint=fingerprint(request, body)))
    except HubError as exc:
        raise conflict_to_412(exc, if_version) from None
    return JSON(answer["todo"])


async def remove(request: Request) -> Response:
    """Delete a todo (204)."""
    user, _ = await signed_in(request)
    op_id, if_version = operation_id(request), if_match(request)
    op = _parse({"type": "delete", "todo_id": _todo_id(request), "if_version": if_version})
    try:
        await run_command(request, user.id, Command(op_id, [op], fingerprint=fingerprint(request)))
    except HubError as exc:
        raise conflict_to_412(exc, if_version) from None
    return Response(status_code=204)


def _todo_id(request: Request) -> str:
    return path_uuid(request, "todo_id", "todo")


async def batch(request: Request) -> Response:
    """Apply up to max_batch operations atomically; answers seqs and todos."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    body = await json_body(request, BODY_LIMIT)
    if not isinstance(body, dict) or set(body) - {"ops"}:
        raise HubError(ErrorCode.VALIDATION, "expected {\"ops\": [...]}",
                       [{"field": "ops", "reason": "required list; no other fields"}])
    try:
        ops = parse_batch(body.get("ops"), hub.settings.max_batch)
    except CommandRejected as exc:
        raise HubError(exc.code, exc.message, exc.details) from None
    answer = await run_command(request, user.id,
                        Command(op_id, ops, batch=True, fingerprint=fingerprint(request, body)))
    return JSON(answer)


_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _query(request: Request) -> TodoQuery:
    params = request.query_params
    details: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    known = {"status", "completed", "priority", "tag", "q", "due_before", "due_after", "overdue",
             "sort", "page", "per_page", "list_id", "assignee"}
    for name in params:
        if name not in known:
            details.append({"field": name, "reason": "unknown query parameter"})
    choice = {"status": ("pending", "in_progress", "completed", "cancelled"),
              "priority": ("low", "medium", "high", "urgent")}
    for name, allowed in choice.items():
        if name in params:
            if params[name] not in allowed:
                details.append({"field": name, "reason": f"must be one of {', '.join(allowed)}"})
            values[name] = params[name]
    for name in ("completed", "overdue"):
        if name in params:
            if params[name].lower() not in _BOOL:
                details.append({"field": name, "reason": "must be true or false"})
            else:
                values[name] = _BOOL[params[name].lower()]
    for name in ("tag", "q", "assignee"):
        if name in params:
            values[name] = params[name]
    if "list_id" in params:
        values["list_id"] = list_param(params["list_id"])
    for name in ("due_before", "due_after"):
        if name in params:
            try:
                moment = datetime.fromisoformat(params[name])
                if moment.tzinfo is None:
                    raise ValueError
                values[name] = format_time(moment)
            except ValueError:
                details.append({"field": name, "reason": "must be ISO 8601 with a time zone"})
    sort = params.get("sort", "order")
    if sort.lstrip("-") not in SORT_KEYS:
        details.append({"field": "sort", "reason": f"must be one of {', '.join(SORT_KEYS)}, "
                        "with - for descending"})
    values["sort"] = sort
    for name, low, high, default in (("page", 1, 1_000_000, 1), ("per_page", 1, 100, 50)):
        raw = params.get(name, str(default))
        if not raw.isdigit() or not low <= int(raw) <= high:
            details.append({"field": name, "reason": f"must be a whole number {low}-{high}"})
        else:
            values[name] = int(raw)
    if details:
        raise HubError(ErrorCode.VALIDATION, f"invalid {details[0]['field']}: "
                       f"{details[0]['reason']}", details)
    return TodoQuery(**values)


async def listing(request: Request) -> Response:
    """A filtered, sorted page of todos with the total and the current seq."""
    from storage.changes import log_position

    user, _ = await signed_in(request)
    query = _query(request)
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
    list_id = request.query_params.get("list_id")
    list_id = list_param(list_id) if list_id is not None else None
    async with hub_of(request).db.read() as conn:
        await visible_list(conn, user.id, list_id)
        result = await stats(conn, user.id, utcnow(), list_id)
    return JSON(result)


routes = [
    Route("/api/todos", listing, methods=["GET"]),
    Route("/api/todos", create, methods=["POST"]),
    Route("/api/todos/stats", statistics, methods=["GET"]),
    Route("/api/todos/batch", batch, methods=["POST"]),
    Route("/api/todos/{todo_id}", read, methods=["GET"]),
    Route("/api/todos/{todo_id}", patch, methods=["PATCH"]),
    Route("/api/todos/{todo_id}", remove, methods=["DELETE"]),
]
