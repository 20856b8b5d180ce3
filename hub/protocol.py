"""The wire protocol without I/O: text to a typed client frame, server events to text.

Client JSON (socket frames and REST bodies alike) is read by :func:`load_json`: UTF-8 only,
nested at most ``MAX_DEPTH`` levels. Each server event is encoded exactly once; the same text
is then sent to every socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hub.errors import ErrorCode, HubError
from storage.codec import dumps
from storage.errors import CommandRejected
from storage.frames import change_frame as change_frame  # the change event, built in storage
from storage.types import (
    MAX_INT,
    Command,
    check_op_id,
    echo,
    find_bad_text,
    parse_batch,
    parse_op,
    text_problem,
)

PROTOCOL_VERSION = 1
COMMAND_TYPES = ("create", "update", "delete", "batch", "list_create", "list_update",
                 "list_delete")
# Arrays and objects inside one another in client JSON; the deepest frame of the protocol
# (a batch's ops, an op, its patch, its tags) has five levels.
MAX_DEPTH = 32
# A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455, 5.5).
_CLOSE_REASON_BYTES = 123


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


def load_json(text: str | bytes) -> Any:
    """Decode client JSON; HubError(bad_request) when it is not UTF-8 JSON or is nested
    deeper than ``MAX_DEPTH``, HubError(validation) naming the first string (keys included)
    that cannot be stored or sent as text."""
    data, escaped = _decode(text)
    bad = text_error(data) if escaped else None
    if bad is not None:
        raise bad
    return data


def _decode(text: str | bytes) -> tuple[Any, bool]:
    """The decoded value, and whether it may hold text that breaks the text rule: only a
    ``\\u`` escape can make one when the text itself keeps the rule (JSON refuses raw control
    characters in strings), which spares walking every ordinary frame."""
    if isinstance(text, bytes | bytearray):
        try:
            # Strict: json.loads would let a UTF-8-encoded surrogate through (surrogatepass).
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HubError(ErrorCode.BAD_REQUEST, "expected UTF-8 JSON, got bytes that are not "
                           "UTF-8") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise _nested_too_deep() from None
    except ValueError as exc:
        reason = "a number of more than 4300 digits" if "digits" in str(exc) else "not JSON"
        raise HubError(ErrorCode.BAD_REQUEST, f"expected JSON, got text that is {reason}"
                       ) from None
    if _too_deep(text, data):
        raise _nested_too_deep()
    return data, "\\u" in text or text_problem(text) is not None


def _nested_too_deep() -> HubError:
    return HubError(ErrorCode.BAD_REQUEST, f"expected JSON nested at most {MAX_DEPTH} levels "
                    "deep")


def _too_deep(text: str, data: Any) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    level: list[tuple[int, Any]] = [(1, data)]
    while level:
        depth, item = level.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return True
            level.extend((depth + 1, child)
                         for child in (item.values() if isinstance(item, dict) else item))
    return False


def text_error(data: Any, prefix: str = "") -> HubError | None:
    """A validation error naming the first string of ``data`` (keys included) that cannot be
    stored or sent as text; None when there is none."""
    bad = find_bad_text(data, prefix)
    if bad is None:
        return None
    return HubError(ErrorCode.VALIDATION, f"invalid {bad['field']}: {bad['reason']}", [bad])


def _load(text: str | bytes) -> tuple[dict[str, Any], bool]:
    data, escaped = _decode(text)
    if not isinstance(data, dict):
        raise HubError(
            ErrorCode.BAD_REQUEST, f"expected a JSON object, got a JSON {type(data).__name__}"
        )
    return data, escaped


def _valid_text(value: Any) -> bool:
    return isinstance(value, str) and text_problem(value) is None


class BadToken(HubError):
    """A hello whose token is missing, empty or not text: the client should sign in again."""


def parse_hello(text: str | bytes) -> Hello:
    """Decode the first frame; HubError(bad_request / validation) when it is not a valid
    hello, BadToken when its token is missing or cannot be one."""
    data, _ = _load(text)
    if data.get("type") != "hello":
        raise HubError(ErrorCode.BAD_REQUEST, f"expected hello, got {echo(data.get('type'))}")
    token, device, since = data.get("token"), data.get("device"), data.get("since")
    if not isinstance(token, str) or not token or not _valid_text(token):
        raise BadToken(ErrorCode.UNAUTHORIZED, "hello needs a token (a non-empty string)",
                       [{"field": "token", "reason": "required string"}])
    details = []
    if not isinstance(device, str) or not 1 <= len(device) <= 64 or not _valid_text(device):
        details.append({"field": "device", "reason": "must be text of 1-64 characters"})
    if since is not None and (isinstance(since, bool) or not isinstance(since, int)
                              or not 0 <= since <= MAX_INT):
        details.append({"field": "since", "reason": "must be a seq (integer >= 0) or null"})
    if details:
        raise HubError(ErrorCode.VALIDATION, "invalid hello", details)
    return Hello(data.get("protocol"), token, str(device), since)


def protocol_supported(value: Any) -> bool:
    """Whether a hello's ``protocol`` is one this hub speaks (the integer 1)."""
    return type(value) is int and value == PROTOCOL_VERSION


def frame_id(data: Any) -> str | None:
    """A decoded frame's ``id`` when it is a valid operation id (so it can be answered)."""
    if isinstance(data, dict) and check_op_id(data.get("id")) is None:
        return str(data["id"])
    return None


def peek_id(text: str | bytes) -> str | None:
    """The id of a frame, for answering errors; None when it has no valid one."""
    try:
        return frame_id(_decode(text)[0])
    except HubError:
        return None


def close_reason(text: str) -> str:
    """``text`` cut to what a close frame can carry (123 bytes of UTF-8)."""
    raw = text.encode("utf-8", "replace")[:_CLOSE_REASON_BYTES]
    return raw.decode("utf-8", "ignore")


def parse_frame(text: str | bytes, max_batch: int) -> Frame:
    """Decode a frame after hello; HubError with the command's id when it is refused."""
    data, escaped = _load(text)
    kind = data.get("type")
    if kind == "ping":
        return Ping()
    if kind == "auth":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise HubError(ErrorCode.VALIDATION, "auth needs a token",
                           [{"field": "token", "reason": "required string"}])
        bad = text_error(data) if escaped else None
        if bad is not None:
            raise bad
        return Auth(token)
    op_id = frame_id(data)
    if kind not in COMMAND_TYPES:
        raise CommandError(
            op_id,
            HubError(ErrorCode.BAD_REQUEST, f"unknown frame type {echo(kind)}; expected "
                     f"{', '.join(COMMAND_TYPES)}, auth or ping"),
        )
    if op_id is None:
        reason = check_op_id(data.get("id")) or ""
        raise CommandError(
            None,
            HubError(ErrorCode.VALIDATION, f"a command needs an id: {reason}",
                     [{"field": "id", "reason": reason}]),
        )
    bad = text_error(data) if escaped else None
    if bad is not None:
        raise CommandError(op_id, bad)
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
