"""Personal access tokens over REST: make one (shown once), list them, revoke one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from auth.access_tokens import TokenRequest, create_token
from hub.authn import is_personal
from hub.errors import ErrorCode, HubError
from hub.rest import answers
from hub.rest.common import JSON, hub_of, json_object, signed_in
from hub.rest.spec import Operation, routes_of, validated
from storage.access_tokens import delete_access_token, list_access_tokens

BODY_LIMIT = 16 * 1024


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
    wanted = validated(TokenRequest, await json_object(request, BODY_LIMIT))
    async with hub.db.write() as conn:
        record, token = await create_token(conn, user.id, wanted.name, wanted.scope,
                                           wanted.expires_in)
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


operations = [
    Operation("POST", "/api/tokens", create, {201: answers.NewAccessToken}, "tokens",
              body=TokenRequest),
    Operation("GET", "/api/tokens", index, {200: answers.AccessTokens}, "tokens"),
    Operation("DELETE", "/api/tokens/{token_id}", revoke, {204: None}, "tokens",
              errors=(404,)),
]
routes = routes_of(operations)
