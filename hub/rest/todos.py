"""Todos over REST: list, create, read, patch, delete, batch, stats. Writes call the
dispatcher, so live devices see them like any socket command."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import ErrorCode, HubError
from hub.rest.common import (
    JSON,
    hub_of,
    is_whole_number,
    json_body,
    json_object,
    signed_in,
    whole_number,
)
from storage.clock import parse_moment, utcnow
from storage.errors import CommandRejected
from storage.todos import SORT_KEYS, TodoQuery, get_todo, list_todos, stats
from storage.types import (
    MAX_INT,
    Command,
    TodoId,
    check_op_id,
    echo,
    parse_batch,
    parse_op,
    shown,
    text_problem,
)

REST_DEVICE = "rest"
BODY_LIMIT = 1024 * 1024
TODO_ID: TypeAdapter[str] = TypeAdapter(TodoId)


def _op_id(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    reason = check_op_id(key)
    if reason is not None:
        raise HubError(ErrorCode.VALIDATION, f"Idempotency-Key {reason}",
                       [{"field": "Idempotency-Key", "reason": reason}])
    return key


def _fingerprint(request: Request, body: Any = None) -> str:
    """What the request is (method, path, If-Match, body), as a hash stored with its
    Idempotency-Key: the same key with another request is refused."""
    parts = [request.method, request.url.path, request.headers.get("if-match"), body]
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))  # ASCII: any text hashes
    return hashlib.sha256(text.encode()).hexdigest()


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not is_whole_number(text) or len(text) > 19 or int(text) > MAX_INT:
        raise HubError(ErrorCode.VALIDATION,
                       f"If-Match must be a version number, got {echo(raw)}",
                       [{"field": "If-Match", "reason": "must be a version number"}])
    return int(text)


def _parse(data: Any) -> Any:
    try:
        return parse_op(data)
    except CommandRejected as exc:
        raise HubError(exc.code, exc.message, exc.details) from None


async def _run(request: Request, user_id: str, command: Command) -> dict[str, Any]:
    hub = hub_of(request)
    applied = await hub.dispatcher.execute(user_id, command, REST_DEVICE)
    return applied.answer


def _conflict_to_412(exc: HubError, if_version: int | None) -> HubError:
    if exc.code == ErrorCode.CONFLICT and if_version is not None:
        exc.status = 412
    return exc


async def create(request: Request) -> Response:
    """Create a todo (201 with the todo)."""
    user, _ = await signed_in(request)
    op_id = _op_id(request)
    body = await json_object(request, BODY_LIMIT)
    op = _parse({"type": "create", "todo": body})
    answer = await _run(request, user.id,
                        Command(op_id, [op], fingerprint=_fingerprint(request, body)))
    return JSON(answer["todo"], status_code=201)


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
    user, _ = await signed_in(request)
    op_id, if_version = _op_id(request), _if_match(request)
    body = await json_object(request, BODY_LIMIT)
    op = _parse({"type": "update", "todo_id": _todo_id(request), "patch": body,
                 "if_version": if_version})
    try:
        answer = await _run(request, user.id,
                            Command(op_id, [op], fingerprint=_fingerprint(request, body)))
    except HubError as exc:
        raise _conflict_to_412(exc, if_version) from None
    return JSON(answer["todo"])


async def remove(request: Request) -> Response:
    """Delete a todo (204)."""
    user, _ = await signed_in(request)
    op_id, if_version = _op_id(request), _if_match(request)
    op = _parse({"type": "delete", "todo_id": _todo_id(request), "if_version": if_version})
    try:
        await _run(request, user.id, Command(op_id, [op], fingerprint=_fingerprint(request)))
    except HubError as exc:
        raise _conflict_to_412(exc, if_version) from None
    return Response(status_code=204)


def _todo_id(request: Request) -> str:
    raw = request.path_params["todo_id"]
    try:
        return str(TODO_ID.validate_python(raw))
    except ValidationError:
        raise HubError(ErrorCode.NOT_FOUND, f"no todo with id {echo(raw)}") from None


async def batch(request: Request) -> Response:
    """Apply up to max_batch operations atomically; answers seqs and todos."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    op_id = _op_id(request)
    body = await json_body(request, BODY_LIMIT)
    if not isinstance(body, dict) or set(body) - {"ops"}:
        raise HubError(ErrorCode.VALIDATION, "expected {\"ops\": [...]}",
                       [{"field": "ops", "reason": "required list; no other fields"}])
    try:
        ops = parse_batch(body.get("ops"), hub.settings.max_batch)
    except CommandRejected as exc:
        raise HubError(exc.code, exc.message, exc.details) from None
    answer = await _run(request, user.id,
                        Command(op_id, ops, batch=True, fingerprint=_fingerprint(request, body)))
    return JSON(answer)


_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _query(request: Request) -> TodoQuery:
    params = request.query_params
    details: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    known = {"status", "completed", "priority", "tag", "q", "due_before", "due_after", "overdue",
             "sort", "page", "per_page"}
    for name in params:
        if name not in known:
            details.append({"field": shown(name), "reason": "unknown query parameter"})
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
    for name in ("tag", "q"):
        if name in params:
            problem = text_problem(params[name])
            if problem is not None:
                details.append({"field": name, "reason": problem})
            values[name] = params[name]
    for name in ("due_before", "due_after"):
        if name in params:
            try:
                values[name] = parse_moment(params[name])
            except ValueError as exc:
                details.append({"field": name, "reason": str(exc)})
    sort = params.get("sort", "order")
    if sort.lstrip("-") not in SORT_KEYS:
        details.append({"field": "sort", "reason": f"must be one of {', '.join(SORT_KEYS)}, "
                        "with - for descending"})
    values["sort"] = sort
    for name, low, high, default in (("page", 1, 1_000_000, 1), ("per_page", 1, 100, 50)):
        try:
            values[name] = whole_number(params.get(name), name, default, low, high)
        except HubError as exc:
            details += exc.details or []
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
        items, total = await list_todos(conn, user.id, query, utcnow())
        seq, _ = await log_position(conn, user.id)
    pages = (total + query.per_page - 1) // query.per_page
    return JSON({"items": items, "total": total, "page": query.page, "per_page": query.per_page,
                 "pages": pages, "seq": seq})


async def statistics(request: Request) -> Response:
    """Totals per status, overdue and completion rate."""
    user, _ = await signed_in(request)
    async with hub_of(request).db.read() as conn:
        result = await stats(conn, user.id, utcnow())
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
