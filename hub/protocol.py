"""The wire protocol without I/O: text to a typed client frame, server events to text.

Each server event is encoded exactly once; the same text is then sent to every socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hub.errors import ErrorCode, HubError
from storage.codec import dumps
from storage.errors import CommandRejected
from storage.frames import change_frame as change_frame  # the change event, built in storage
from storage.types import Command, parse_batch, parse_op

PROTOCOL_VERSION = 1
COMMAND_TYPES = ("create", "update", "delete", "batch", "list_create", "list_update",
                 "list_delete")


@dataclass(frozen=True)
class Hello:
    """The first frame of a session."""

    protocol: Any
    token: str
    device: str
    since: int | None


@dataclass(frozen=True)
class Auth:
    """A fresh access token for a live socket."""

    token: str


@dataclass(frozen=True)
class Ping:
    """An application-level ping (answered with pong)."""


Frame = Hello | Auth | Ping | Command


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise HubError(ErrorCode.BAD_REQUEST, "expected a JSON object, got text that is not JSON")
    if not isinstance(data, dict):
        raise HubError(
            ErrorCode.BAD_REQUEST, f"expected a JSON object, got a JSON {type(data).__name__}"
        )
    return data


def parse_hello(text: str | bytes) -> Hello:
    """Decode the first frame; HubError(bad_request) when it is not a valid hello."""
    data = _load(text)
    if data.get("type") != "hello":
        raise HubError(ErrorCode.BAD_REQUEST, f"expected hello, got {data.get('type')!r}")
    token, device, since = data.get("token"), data.get("device"), data.get("since")
    details = []
    if not isinstance(token, str) or not token:
        details.append({"field": "token", "reason": "required string"})
    if not isinstance(device, str) or not 1 <= len(device) <= 64:
        details.append({"field": "device", "reason": "must be 1-64 characters"})
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        details.append({"field": "since", "reason": "must be a seq (integer >= 0) or null"})
    if details:
        raise HubError(ErrorCode.VALIDATION, "invalid hello", details)
    return Hello(data.get("protocol"), token, device, since)  # type: ignore[arg-type]


def parse_frame(text: str | bytes, max_batch: int) -> Frame:
    """Decode a frame after hello; HubError with the command's id when it is refused."""
    data = _load(text)
    kind = data.get("type")
    if kind == "ping":
        return Ping()
    if kind == "auth":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise HubError(ErrorCode.VALIDATION, "auth needs a token",
                           [{"field": "token", "reason": "required string"}])
        return Auth(token)
    if kind not in COMMAND_TYPES:
        raise CommandError(
            data.get("id"),
            HubError(ErrorCode.BAD_REQUEST, f"unknown frame type {kind!r}; expected "
                     f"{', '.join(COMMAND_TYPES)}, auth or ping"),
        )
    op_id = data.get("id")
    if not isinstance(op_id, str) or not 1 <= len(op_id) <= 64:
        raise CommandError(
            op_id if isinstance(op_id, str) else None,
            HubError(ErrorCode.VALIDATION, "a command needs an id of 1-64 characters",
                     [{"field": "id", "reason": "must be a string of 1-64 characters"}]),
        )
    fields = {k: v for k, v in data.items() if k != "id"}
    try:
        if kind == "batch":
            extra = set(fields) - {"type", "ops"}
            if extra:
                raise CommandRejected(
                    "validation", f"unknown field {sorted(extra)[0]!r}",
                    [{"field": name, "reason": "unknown field"} for name in sorted(extra)],
                )
            return Command(op_id, parse_batch(fields.get("ops"), max_batch), batch=True)
        return Command(op_id, [parse_op(fields)])
    except CommandRejected as exc:
        raise CommandError(op_id, HubError(exc.code, exc.message, exc.details)) from None


class CommandError(Exception):
    """A HubError that answers the command with ``op_id``."""

    def __init__(self, op_id: Any, error: HubError) -> None:
        super().__init__(error.message)
        self.op_id = op_id if isinstance(op_id, str) else None
        self.error = error


# Server events. Each returns the frame's text.

def welcome(user: dict[str, Any], device: str, seq: int, expires_at: int, heartbeat: float) -> str:
    """The answer to hello."""
    return dumps({"type": "welcome", "user": {"id": user["id"], "username": user["username"]},
                  "device": device, "seq": seq, "expires_at": expires_at,
                  "heartbeat": heartbeat})


def snapshot(seq: int, todos: list[dict[str, Any]], more: bool,
             lists: list[dict[str, Any]] | None = None) -> str:
    """One page of a snapshot; the first page carries the user's ``lists``."""
    frame: dict[str, Any] = {"type": "snapshot", "seq": seq}
    if lists is not None:
        frame["lists"] = lists
    frame.update(todos=todos, more=more)
    return dumps(frame)


def synced(seq: int) -> str:
    """The end of catch-up."""
    return dumps({"type": "synced", "seq": seq})


def ack(op_id: str | None, answer: dict[str, Any], duplicate: bool) -> str:
    """The answer to an applied command."""
    frame: dict[str, Any] = {"type": "ack", "id": op_id, **answer}
    if duplicate:
        frame["duplicate"] = True
    return dumps(frame)


def error(op_id: str | None, exc: HubError) -> str:
    """An error frame; ``op_id`` is None when the frame could not be read."""
    frame: dict[str, Any] = {"type": "error"}
    if op_id is not None:
        frame["id"] = op_id
    frame.update(exc.body())
    return dumps(frame)


def presence(devices: list[dict[str, Any]]) -> str:
    """The devices of a user that are online."""
    return dumps({"type": "presence", "devices": devices})


def pong() -> str:
    """The answer to an application-level ping."""
    return '{"type":"pong"}'


def auth_ok(expires_at: int) -> str:
    """The answer to auth."""
    return dumps({"type": "auth_ok", "expires_at": expires_at})


def token_expiring(expires_at: int) -> str:
    """A warning that the socket's token expires soon."""
    return dumps({"type": "token_expiring", "expires_at": expires_at})
