"""Close codes, error codes and the one exception the hub raises toward a client.

::

    HubError(code, message, details, todo, status)
     └─ raised by protocol parsing, dispatch, REST handlers; turned into an ``error`` frame
        on a socket or ``{"error": {...}}`` with ``status`` over HTTP.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any


class CloseCode(IntEnum):
    """WebSocket close codes the hub uses; the comment says what the client should do."""

    NORMAL = 1000  # nothing
    TOO_LARGE = 1009  # fix the client: a frame was over the size limit
    RESTARTING = 1012  # reconnect at once with since: the hub is shutting down
    TRY_AGAIN = 1013  # reconnect with since: the device's send queue overflowed
    BAD_HELLO = 4400  # fix the client: no valid hello
    UNAUTHORIZED = 4401  # refresh the token, then reconnect
    HELLO_TIMEOUT = 4408  # reconnect: no hello in time
    PROTOCOL_VERSION = 4409  # upgrade: unsupported protocol version
    RATE_LIMITED = 4429  # back off, then reconnect


class ErrorCode(StrEnum):
    """Error codes of ``error`` frames and REST error bodies."""

    BAD_REQUEST = "bad_request"  # not JSON, unknown type, malformed request
    VALIDATION = "validation"  # a field broke a rule; details say which
    NOT_FOUND = "not_found"  # no such todo or list (also one the user cannot see)
    CONFLICT = "conflict"  # version mismatch, id taken, username taken
    RATE_LIMITED = "rate_limited"  # too many requests; retry later
    TOO_LARGE = "too_large"  # body or batch too large
    UNAUTHORIZED = "unauthorized"  # token or credentials not valid
    FORBIDDEN = "forbidden"  # not allowed here (origin, guests disabled, the role's overreach)
    UNAVAILABLE = "unavailable"  # the database is away
    INTERNAL = "internal"  # a bug; the log has the traceback


STATUS = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class HubError(Exception):
    """An error answered to the client: a code, a message saying what was expected and what
    arrived, optional field details and the current todo (for conflicts)."""

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        todo: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        list: dict[str, Any] | None = None,  # noqa: A002  (the wire's name)
    ) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.details = details
        self.todo = todo
        self.status = status or STATUS[self.code]
        self.headers = headers
        self.list = list

    def body(self) -> dict[str, Any]:
        """The error object (without the frame's type and id)."""
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            body["details"] = self.details
        if self.todo is not None:
            body["todo"] = self.todo
        if self.list is not None:
            body["list"] = self.list
        return body
