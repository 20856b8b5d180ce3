"""Errors of the client, each carrying the contract's error code.

::

    ClientError
     ├─ ApiError(code, message, status, details, todo)   the hub answered an error
     │   ├─ Unauthorized   unauthorized: bad, expired or revoked token
     │   ├─ Forbidden      forbidden: e.g. a read token tried to write
     │   ├─ NotFound       not_found (also another user's todo)
     │   ├─ Conflict       conflict: .todo (or .list) is the current one on a version
     │   │                 mismatch; also a list at its member limit
     │   ├─ Invalid        validation / bad_request: .details say which field
     │   └─ RateLimited    rate_limited: .retry_after in seconds
     └─ Unreachable        the hub could not be reached, even after retrying
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Root of every error the client raises."""


class ApiError(ClientError):
    """The hub answered with an error; ``code`` is the contract's error code."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 details: list[dict[str, Any]] | None = None,
                 todo: dict[str, Any] | None = None, retry_after: float | None = None,
                 list: dict[str, Any] | None = None) -> None:  # noqa: A002 (the wire's name)
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or []
        self.todo = todo
        self.retry_after = retry_after
        self.list = list


class Unauthorized(ApiError):
    """The token is missing, invalid, expired or revoked."""


class Forbidden(ApiError):
    """The token or the user's role may not do this (a read token writing, a viewer
    changing a list's todos, an editor inviting)."""


class NotFound(ApiError):
    """No such todo, list or invitation (or one the user may not see)."""


class Conflict(ApiError):
    """A version mismatch (``todo`` or ``list`` holds the current one), a taken name, an
    old since, a limit reached."""


class Invalid(ApiError):
    """A request the hub refused as malformed or invalid; ``details`` name the fields."""


class RateLimited(ApiError):
    """Too many requests; ``retry_after`` says how long to wait."""


class Unreachable(ClientError):
    """The hub did not answer (refused, timed out, dropped), even after the retries."""


_BY_CODE: dict[str, type[ApiError]] = {
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "conflict": Conflict,
    "validation": Invalid,
    "bad_request": Invalid,
    "too_large": Invalid,
    "rate_limited": RateLimited,
}


def api_error(code: str, message: str, status: int | None = None,
              details: list[dict[str, Any]] | None = None, todo: dict[str, Any] | None = None,
              retry_after: float | None = None,
              list: dict[str, Any] | None = None) -> ApiError:  # noqa: A002
    """The ApiError subclass for ``code`` (ApiError itself for the others)."""
    cls = _BY_CODE.get(code, ApiError)
    return cls(code, message, status, details, todo, retry_after, list)
