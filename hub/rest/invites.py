"""Invitations from the invitee's side: preview what one offers, accept it. Accepting is a
write through the dispatcher: the list and its todos reach the new member's devices, and the
new member list reaches everyone else's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import ErrorCode, HubError
from hub.rest.common import (
    JSON,
    fingerprint,
    hub_of,
    json_object,
    operation_id,
    rejected,
    run_command,
    signed_in,
)
from storage.clock import utcnow
from storage.errors import CommandRejected
from storage.invites import hash_token, preview
from storage.types import Command, JoinOp

BODY_LIMIT = 4096


async def _token(request: Request) -> str:
    body = await json_object(request, BODY_LIMIT)
    token = body.get("token")
    if set(body) != {"token"} or not isinstance(token, str) or not 1 <= len(token) <= 200:
        raise HubError(ErrorCode.VALIDATION, "expected {\"token\": \"...\"}",
                       [{"field": "token", "reason": "required string; no other fields"}])
    return token


async def show(request: Request) -> Response:
    """What the invitation offers (list, role, who invited, expiry), before joining."""
    await signed_in(request)
    token = await _token(request)
    try:
        async with hub_of(request).db.read() as conn:
            offered = await preview(conn, token, utcnow())
    except CommandRejected as exc:
        raise rejected(exc) from None
    return JSON(offered)


async def accept(request: Request) -> Response:
    """Join the invitation's list; answers the list as the new member sees it."""
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    token = await _token(request)
    command = Command(op_id, [JoinOp(hash_token(token))],
                      fingerprint=fingerprint(request, {"token": token}))
    answer = await run_command(request, user.id, command)
    return JSON(answer["list"])


routes = [
    Route("/api/invites/preview", show, methods=["POST"]),
    Route("/api/invites/accept", accept, methods=["POST"]),
]
