"""Personal access tokens over REST: make one (shown once), list them, revoke one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.access_tokens import BadTokenRequest, create_token
from hub.authn import is_personal
from hub.errors import ErrorCode, HubError
from hub.rest.common import JSON, hub_of, json_object, signed_in
from storage.access_tokens import delete_access_token, list_access_tokens

BODY_LIMIT = 16 * 1024
FIELDS = {"name", "scope", "expires_in"}


async def create(request: Request) -> Response:
    """A new token of the signed-in full account (201, with its secret this once)."""
    hub = hub_of(request)
    user, claims = await signed_in(request)
    if user.guest:
        raise HubError(ErrorCode.FORBIDDEN, "a guest account cannot make access tokens; "
                       "upgrade it to a full account first")
    if is_personal(claims):
        raise HubError(ErrorCode.FORBIDDEN, "an access token cannot make access tokens; "
                       "sign in with a password")
    body = await json_object(request, BODY_LIMIT)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise HubError(ErrorCode.VALIDATION, f"invalid {unknown[0]}: unknown field",
                       [{"field": name, "reason": "unknown field"} for name in unknown])
    try:
        async with hub.db.write() as conn:
            record, token = await create_token(conn, user.id, body.get("name"),
                                               body.get("scope"), body.get("expires_in"))
    except BadTokenRequest as exc:
        raise HubError(ErrorCode.VALIDATION, str(exc),
                       [{"field": exc.field, "reason": exc.reason}]) from None
    return JSON({**record.public(), "token": token}, status_code=201)


async def index(request: Request) -> Response:
    """The signed-in user's tokens, without secrets."""
    user, _ = await signed_in(request)
    async with hub_of(request).db.read() as conn:
        records = await list_access_tokens(conn, user.id)
    return JSON({"tokens": [record.public() for record in records]})


async def revoke(request: Request) -> Response:
    """Revoke a token (204): refused from now on, its sockets closed on every process."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    token_id = request.path_params["token_id"]
    async with hub.db.write() as conn:
        removed = await delete_access_token(conn, user.id, token_id)
    if not removed:
        raise HubError(ErrorCode.NOT_FOUND, f"no access token {token_id!r}")
    await hub.publish_revocation(user.id, token_id)
    return Response(status_code=204)


routes = [
    Route("/api/tokens", create, methods=["POST"]),
    Route("/api/tokens", index, methods=["GET"]),
    Route("/api/tokens/{token_id}", revoke, methods=["DELETE"]),
]
