"""Invitations from the invitee's side: preview what one offers, accept it. Accepting is a
write through the dispatcher: the list and its todos reach the new member's devices, and the
new member list reaches everyone else's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.rest import answers
from hub.rest.bodies import InviteToken
from hub.rest.common import JSON, hub_of, json_object, rejected, signed_in
from hub.rest.spec import Operation, routes_of, validated
from hub.rest.writes import write_one
from storage.clock import utcnow
from storage.errors import CommandRejected
from storage.invites import hash_token, preview
from storage.types import JoinOp

BODY_LIMIT = 4096


async def show(request: Request) -> Response:
    """What the invitation offers (list, role, who invited, expiry), before joining."""
    await signed_in(request)
    token = validated(InviteToken, await json_object(request, BODY_LIMIT)).token
    try:
        async with hub_of(request).db.read() as conn:
            offered = await preview(conn, token, utcnow())
    except CommandRejected as exc:
        raise rejected(exc) from None
    return JSON(offered)


async def accept(request: Request) -> Response:
    """Join the invitation's list; answers the list as the new member sees it."""
    return await write_one(request, lambda body, _: JoinOp(
        hash_token(validated(InviteToken, body).token)), body_limit=BODY_LIMIT, answer="list")


operations = [
    Operation("POST", "/api/invites/preview", show, {200: answers.InvitePreview}, "sharing",
              body=InviteToken, errors=(404,)),
    Operation("POST", "/api/invites/accept", accept, {200: answers.TodoList}, "sharing",
              body=InviteToken, headers=("Idempotency-Key",), errors=(404, 409)),
]
routes = routes_of(operations)
