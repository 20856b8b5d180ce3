"""The client's requests without I/O: what each method sends, how answers and errors are
read, and when a failed attempt is tried again. The sync and async hubs only carry these
over httpx, so both behave exactly alike."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.client.errors import ApiError, api_error

PER_PAGE = 100
# Answers that say "try again": the database is away, or a retry of a key still in flight.
RETRY_STATUSES = frozenset({409, 429, 503})


def new_key() -> str:
    """A fresh idempotency key (the operation id of one write)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Call:
    """One request: a write carries its idempotency key, the same on every attempt."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    key: str | None = None
    if_match: int | None = None

    def headers(self, token: str) -> dict[str, str]:
        """The request's headers."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self.key is not None:
            headers["Idempotency-Key"] = self.key
        if self.if_match is not None:
            headers["If-Match"] = str(self.if_match)
        return headers

    def content(self) -> bytes | None:
        """The JSON body, if any."""
        return None if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Retry:
    """How often and how long to wait between attempts (exponential backoff with jitter)."""

    attempts: int = 5
    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (attempts count from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap * 6)
        wait: float = min(self.cap, self.base * 2 ** (attempt - 1))
        return wait * (0.5 + random.random() / 2)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def error_of(status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
    """The ApiError of an error answer (its body, or the status when it has none)."""
    try:
        body = json.loads(content)["error"]
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
                412: "conflict", 413: "too_large", 422: "validation", 429: "rate_limited",
                503: "unavailable"}.get(status, "internal")
        return api_error(code, f"HTTP {status} without an error body", status,
                         retry_after=_retry_after(headers))
    return api_error(code, message, status, body.get("details"), body.get("todo"),
                     _retry_after(headers))


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an error answer means "the same request may succeed later"."""
    if status not in RETRY_STATUSES:
        return False
    # A 409 is a real conflict unless it says when to retry (a key still in flight).
    return status != 409 or "retry-after" in headers


def result_of(status: int, content: bytes) -> Any:
    """The decoded body of a successful answer (None for 204)."""
    if status == 204 or not content:
        return None
    return json.loads(content)


# The calls ---------------------------------------------------------------------------

def _filters(**given: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def list_page(filters: dict[str, str], page: int) -> Call:
    """GET /api/todos, one page of the filtered list."""
    return Call("GET", "/api/todos", {**filters, "page": str(page), "per_page": str(PER_PAGE)})


def get(todo_id: str) -> Call:
    """GET /api/todos/{id}."""
    return Call("GET", f"/api/todos/{todo_id}")


def create(todo: dict[str, Any]) -> Call:
    """POST /api/todos with a fresh idempotency key."""
    return Call("POST", "/api/todos", body=todo, key=new_key())


def update(todo_id: str, patch: dict[str, Any], if_version: int | None) -> Call:
    """PATCH /api/todos/{id}, with If-Match when ``if_version`` is given."""
    return Call("PATCH", f"/api/todos/{todo_id}", body=patch, key=new_key(),
                if_match=if_version)


def delete(todo_id: str) -> Call:
    """DELETE /api/todos/{id}."""
    return Call("DELETE", f"/api/todos/{todo_id}", key=new_key())


def batch(ops: list[dict[str, Any]]) -> Call:
    """POST /api/todos/batch: all the operations or none."""
    return Call("POST", "/api/todos/batch", body={"ops": ops}, key=new_key())


def stats() -> Call:
    """GET /api/todos/stats."""
    return Call("GET", "/api/todos/stats")


def me() -> Call:
    """GET /api/auth/me."""
    return Call("GET", "/api/auth/me")


def make_token(name: str, scope: str, expires_in: int | None) -> Call:
    """POST /api/tokens."""
    return Call("POST", "/api/tokens", body={"name": name, "scope": scope,
                                             "expires_in": expires_in})


def filters(
    *, status: str | None = None, completed: bool | None = None, priority: str | None = None,
    tag: str | None = None, q: str | None = None, due_before: str | None = None,
    due_after: str | None = None, overdue: bool | None = None, sort: str | None = None,
    list_id: str | None = None, assignee: str | None = None,
) -> dict[str, str]:
    """The query of GET /api/todos for the given filters (None: not filtered)."""
    return _filters(status=status, completed=completed, priority=priority, tag=tag, q=q,
                    due_before=due_before, due_after=due_after, overdue=overdue, sort=sort,
                    list_id=list_id, assignee=assignee)


def ws_url(url: str) -> str:
    """The socket address of a hub at ``url`` (http -> ws, https -> wss)."""
    base = url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/ws"
    raise ValueError(f"expected an http:// or https:// hub address, got {url!r}")
