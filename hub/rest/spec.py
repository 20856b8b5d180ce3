"""One REST operation, declared once: the Starlette route and what the API document says of
it (request body, query and header parameters, answers per status, error statuses).

Each ``hub/rest`` module lists its ``operations``; ``app.py`` makes routes of them and
``hub/rest/openapi.py`` the document, so the two cannot drift apart. The statuses every
operation of a kind can answer are added here, in one place: 500 and 503 (the database is
away) to all, 401 to those that need a token, 403 to writes (a ``read`` token), 400, 413
and 422 to those that take a body, 422 to those with query or header parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import ErrorCode, HubError
from storage.types import validation_details

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Awaitable[Response]]
# What a status answers: a JSON body of this model, no body (None), plain text
# (Prometheus), Server-Sent Events or a page.
Answer = type[BaseModel] | Literal["text", "events", "html"] | None
# The request headers an operation may read, with what the document says of them.
HEADERS: dict[str, tuple[dict[str, Any], str]] = {
    "If-Match": ({"type": "string", "pattern": '^(W/)?"?[0-9]{1,19}"?$'},
                 "the version the change applies to, bare (4) or quoted (\"4\"); "
                 "412 when the current version differs"),
    "Idempotency-Key": ({"type": "string", "minLength": 1, "maxLength": 64},
                        "the operation id: a repeat of the same request answers what the "
                        "first one answered and changes nothing"),
    "Last-Event-ID": ({"type": "string", "pattern": "^[0-9]{1,10}$"},
                      "the seq of the last event seen (a reconnecting EventSource sends "
                      "it); wins over since"),
}


@dataclass(frozen=True)
class Operation:
    """A REST operation: method, path, handler, and what it takes and answers."""

    method: str
    path: str
    endpoint: Endpoint
    answers: Mapping[int, Answer]
    tag: str
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    signed_in: bool = True
    # The token may be left out (logout takes a refresh token in the body instead).
    token_optional: bool = False

    def route(self) -> Route:
        """The Starlette route serving this operation."""
        return Route(self.path, self.endpoint, methods=[self.method])

    @property
    def summary(self) -> str:
        """The first sentence of the handler's docstring."""
        text = self.description
        end = text.find(". ")
        return text if end < 0 else text[:end + 1]

    @property
    def description(self) -> str:
        """The handler's docstring, joined into one paragraph."""
        return " ".join((self.endpoint.__doc__ or "").split())

    def error_statuses(self) -> list[int]:
        """Every error status the operation can answer, in order."""
        statuses = {500, 503, *self.errors}
        if self.signed_in:
            statuses.add(401)
            if self.method != "GET":
                statuses.add(403)
        if self.body is not None:
            statuses |= {400, 413, 422}
        if self.query is not None or self.headers:
            statuses.add(422)
        return sorted(statuses)


def routes_of(operations: list[Operation]) -> list[Route]:
    """The routes of ``operations``."""
    return [operation.route() for operation in operations]


def validated(model: type[M], data: Any) -> M:
    """``data`` validated by ``model``; HubError(validation) naming the fields otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        raise HubError(ErrorCode.VALIDATION, f"invalid {details[0]['field']}: "
                       f"{details[0]['reason']}", details) from None


def query_of(model: type[M], request: Request) -> M:
    """The request's query parameters validated by ``model`` (each parameter given once;
    a parameter the model does not name is a 422)."""
    return validated(model, dict(request.query_params))
