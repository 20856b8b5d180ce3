"""The client's requests without I/O: what each method sends, how answers and errors are
read, and when a failed attempt is tried again. The client's methods build their request
here and send it through one retry loop (hub.client.aio), whichever way it is carried."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hub.client.errors import ApiError, api_error

PER_PAGE = 100
# Answers that say "try again": the database is away, or a retry of a key still in flight.
RETRY_STATUSES = frozenset({409, 429, 503})


def new_key() -> str:
    """A fresh idempotency key (the operation id of one write)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Call:
    """One request: a write carries its idempotency key, the same on every attempt.

    ``replayable`` says whether the request may be sent again after it may have reached
    the hub (a read, or a write the hub applies once per key); one that is not is sent
    again only when the connection was never made."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    key: str | None = None
    if_match: int | None = None
    replayable: bool = True

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
                     _retry_after(headers), body.get("list"))


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

def _path(*parts: str) -> str:
    """An /api path with each caller-given id quoted (a ``/`` in an id stays in its part)."""
    return "/api/" + "/".join(quote(part, safe="") for part in parts)


def _write(method: str, path: str, body: Any = None, if_match: int | None = None) -> Call:
    """A write with a fresh idempotency key."""
    return Call(method, path, body=body, key=new_key(), if_match=if_match)


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def filters(**given: Any) -> dict[str, str]:
    """The query of GET /api/todos for the given filters (None: not filtered)."""
    out: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def list_page(query: dict[str, str], page: int) -> Call:
    """GET /api/todos, one page of the filtered list."""
    return Call("GET", "/api/todos", {**query, "page": str(page), "per_page": str(PER_PAGE)})


def get(todo_id: str) -> Call:
    """GET /api/todos/{id}."""
    return Call("GET", _path("todos", todo_id))


def create(todo: dict[str, Any]) -> Call:
    """POST /api/todos."""
    return _write("POST", "/api/todos", todo)


def update(todo_id: str, patch: dict[str, Any], if_version: int | None) -> Call:
    """PATCH /api/todos/{id}, with If-Match when ``if_version`` is given."""
    return _write("PATCH", _path("todos", todo_id), patch, if_version)


def delete(todo_id: str, if_version: int | None = None) -> Call:
    """DELETE /api/todos/{id}."""
    return _write("DELETE", _path("todos", todo_id), if_match=if_version)


def batch(ops: list[dict[str, Any]]) -> Call:
    """POST /api/todos/batch: all the operations or none."""
    return _write("POST", "/api/todos/batch", {"ops": ops})


def stats(list_id: str | None = None) -> Call:
    """GET /api/todos/stats, over one list or every list of the user."""
    return Call("GET", "/api/todos/stats", filters(list_id=list_id))


def me() -> Call:
    """GET /api/auth/me."""
    return Call("GET", "/api/auth/me")


def make_token(name: str, scope: str, expires_in: int | None) -> Call:
    """POST /api/tokens."""
    return Call("POST", "/api/tokens", body={"name": name, "scope": scope,
                                             "expires_in": expires_in}, replayable=False)


def lists() -> Call:
    """GET /api/lists."""
    return Call("GET", "/api/lists")


def list_get(list_id: str) -> Call:
    """GET /api/lists/{id}."""
    return Call("GET", _path("lists", list_id))


def list_create(name: str, list_id: str | None) -> Call:
    """POST /api/lists (``list_id``: a client-made UUID)."""
    return _write("POST", "/api/lists", _given(name=name, id=list_id))


def list_rename(list_id: str, name: str, if_version: int | None) -> Call:
    """PATCH /api/lists/{id}, with If-Match when ``if_version`` is given."""
    return _write("PATCH", _path("lists", list_id), {"name": name}, if_version)


def list_delete(list_id: str, if_version: int | None) -> Call:
    """DELETE /api/lists/{id}: the list and its todos."""
    return _write("DELETE", _path("lists", list_id), if_match=if_version)


def invite(list_id: str, role: str, expires_in: int | None, max_uses: int | None) -> Call:
    """POST /api/lists/{id}/invites. The hub keeps no idempotency key for invitations, so
    this one is not sent again once it may have arrived (a repeat would make a second
    invitation, whose token nobody saw)."""
    body = _given(role=role, expires_in=expires_in, max_uses=max_uses)
    return Call("POST", _path("lists", list_id, "invites"), body=body, key=new_key(),
                replayable=False)


def invites(list_id: str) -> Call:
    """GET /api/lists/{id}/invites: the open invitations."""
    return Call("GET", _path("lists", list_id, "invites"))


def revoke_invite(list_id: str, invite_id: str) -> Call:
    """DELETE /api/lists/{id}/invites/{invite_id} (not sent again once it may have arrived:
    a repeat would answer not_found for a revoke that worked)."""
    return Call("DELETE", _path("lists", list_id, "invites", invite_id), key=new_key(),
                replayable=False)


def invite_token(token_or_url: str) -> str:
    """The token of an invitation given as its token or its url (``.../#/invite/<token>``)."""
    text = token_or_url.strip()
    marker = "#/invite/"
    return text.split(marker, 1)[1] if marker in text else text


def preview(token: str) -> Call:
    """POST /api/invites/preview (reads only)."""
    return Call("POST", "/api/invites/preview", body={"token": invite_token(token)})


def accept(token: str) -> Call:
    """POST /api/invites/accept: join the invitation's list."""
    return _write("POST", "/api/invites/accept", {"token": invite_token(token)})


def set_role(list_id: str, user_id: str, role: str) -> Call:
    """PATCH /api/lists/{id}/members/{user_id}."""
    return _write("PATCH", _path("lists", list_id, "members", user_id), {"role": role})


def remove_member(list_id: str, user_id: str) -> Call:
    """DELETE /api/lists/{id}/members/{user_id} (oneself: leave)."""
    return _write("DELETE", _path("lists", list_id, "members", user_id))


def ws_url(url: str) -> str:
    """The socket address of a hub at ``url`` (http -> ws, https -> wss)."""
    base = url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/ws"
    raise ValueError(f"expected an http:// or https:// hub address, got {url!r}")
