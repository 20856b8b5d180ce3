"""The one shape of a REST write that is a single command: sign in, read the
Idempotency-Key (and If-Match), read the body, make the operation, write it through the
dispatcher as a socket command would, and answer a part of the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.errors import HubError
from hub.rest.common import (
    JSON,
    conflict_to_412,
    fingerprint,
    if_match,
    json_object,
    operation_id,
    rejected,
    run_command,
    signed_in,
)
from storage.errors import CommandRejected
from storage.types import Command, Op

# Makes the operation(s) from the request's body (None without one) and its If-Match
# version; a list is applied as one atomic batch.
MakeOps = Callable[[dict[str, Any] | None, int | None], Op | list[Op]]


async def write_one(request: Request, make: MakeOps, *, body_limit: int | None,
                    answer: str | None, status: int = 200,
                    versioned: bool = False) -> Response:
    """Apply one command made by ``make`` for the signed-in user and answer
    ``ack[answer]`` with ``status`` (the whole ack for ``answer="*"``, nothing: 204 for
    None). ``body_limit`` None means the route reads no body; ``versioned`` reads If-Match,
    whose version conflict answers 412."""
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    version = if_match(request) if versioned else None
    body = await json_object(request, body_limit) if body_limit is not None else None
    try:
        made = make(body, version)
    except CommandRejected as exc:
        raise rejected(exc) from None
    ops = made if isinstance(made, list) else [made]
    command = Command(op_id, ops, batch=isinstance(made, list),
                      fingerprint=fingerprint(request, body))
    try:
        ack = await run_command(request, user.id, command)
    except HubError as exc:
        raise conflict_to_412(exc, version) from None
    if answer is None:
        return Response(status_code=204)
    return JSON(ack if answer == "*" else ack[answer], status_code=status)
