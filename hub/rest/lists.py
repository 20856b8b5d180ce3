"""Lists over REST: read, create, rename, delete; members (role changes, removal, leaving);
the owner's invitations. Writes go through the dispatcher, so every member's devices see
them live."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import ErrorCode, HubError
from hub.rest.common import (
    JSON,
    conflict_to_412,
    fingerprint,
    hub_of,
    if_match,
    json_object,
    operation_id,
    path_uuid,
    rejected,
    run_command,
    signed_in,
)
from storage.clock import utcnow
from storage.errors import CommandRejected
from storage.invites import create_invite, open_invites, revoke_invite
from storage.lists import get_list, user_lists
from storage.types import Command, RemoveOp, RoleOp, parse_op, validation_details

BODY_LIMIT = 64 * 1024


def _op(data: dict[str, Any]) -> Any:
    try:
        return parse_op(data, allowed=("list_create", "list_update", "list_delete"))
    except CommandRejected as exc:
        raise rejected(exc) from None


def _list_id(request: Request) -> str:
    return path_uuid(request, "list_id", "list")


async def listing(request: Request) -> Response:
    """The user's lists."""
    user, _ = await signed_in(request)
    async with hub_of(request).db.read() as conn:
        found = await user_lists(conn, user.id)
    return JSON({"lists": found})


async def create(request: Request) -> Response:
    """Create a list owned by the user (201 with the list)."""
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    body = await json_object(request, BODY_LIMIT)
    op = _op({"type": "list_create", "list": body})
    answer = await run_command(request, user.id,
                               Command(op_id, [op], fingerprint=fingerprint(request, body)))
    return JSON(answer["list"], status_code=201)


async def read(request: Request) -> Response:
    """One list of the user."""
    user, _ = await signed_in(request)
    list_id = _list_id(request)
    async with hub_of(request).db.read() as conn:
        found = await get_list(conn, user.id, list_id)
    if found is None:
        raise HubError(ErrorCode.NOT_FOUND, f"no list with id {list_id}")
    return JSON(found)


async def rename(request: Request) -> Response:
    """Rename a list (owner); If-Match gives 412 on a version mismatch."""
    user, _ = await signed_in(request)
    op_id, version = operation_id(request), if_match(request)
    body = await json_object(request, BODY_LIMIT)
    op = _op({"type": "list_update", "list_id": _list_id(request), "patch": body,
              "if_version": version})
    try:
        answer = await run_command(request, user.id,
                                   Command(op_id, [op], fingerprint=fingerprint(request, body)))
    except HubError as exc:
        raise conflict_to_412(exc, version) from None
    return JSON(answer["list"])


async def remove(request: Request) -> Response:
    """Delete a list and its todos (owner; 204)."""
    user, _ = await signed_in(request)
    op_id, version = operation_id(request), if_match(request)
    op = _op({"type": "list_delete", "list_id": _list_id(request), "if_version": version})
    try:
        await run_command(request, user.id, Command(op_id, [op], fingerprint=fingerprint(request)))
    except HubError as exc:
        raise conflict_to_412(exc, version) from None
    return Response(status_code=204)


class _RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern="^(owner|editor|viewer)$")


class _InviteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(default="editor", pattern="^(editor|viewer)$")
    expires_in: StrictInt | None = Field(default=None, ge=60, le=365 * 86400)
    max_uses: StrictInt = Field(default=1, ge=1, le=1000)


def _validated(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        details = validation_details(exc)
        raise HubError(ErrorCode.VALIDATION, f"invalid {details[0]['field']}: "
                       f"{details[0]['reason']}", details) from None


async def set_role(request: Request) -> Response:
    """Give a member another role (owner); ``owner`` hands ownership over."""
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    raw = await json_object(request, BODY_LIMIT)
    body = _validated(_RoleBody, raw)
    member = path_uuid(request, "user_id", "member")
    op = RoleOp(_list_id(request), member, body.role)
    answer = await run_command(request, user.id,
                               Command(op_id, [op], fingerprint=fingerprint(request, raw)))
    return JSON(answer["list"])


async def remove_member(request: Request) -> Response:
    """Remove a member (owner), or leave (oneself); 204."""
    user, _ = await signed_in(request)
    op_id = operation_id(request)
    member = path_uuid(request, "user_id", "member")
    await run_command(request, user.id, Command(op_id, [RemoveOp(_list_id(request), member)],
                                                fingerprint=fingerprint(request)))
    return Response(status_code=204)


def _public_url(request: Request) -> str:
    configured = hub_of(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def invite(request: Request) -> Response:
    """A new invitation (owner): its token is shown only in this answer."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    body = _validated(_InviteBody, await json_object(request, BODY_LIMIT))
    list_id = _list_id(request)
    try:
        async with hub.db.write() as conn:
            made = await create_invite(conn, user.id, list_id, body.role,
                                       body.expires_in or hub.settings.invite_ttl,
                                       body.max_uses, utcnow())
    except CommandRejected as exc:
        raise rejected(exc) from None
    made["url"] = f"{_public_url(request)}/#/invite/{made['token']}"
    return JSON(made, status_code=201)


async def invites(request: Request) -> Response:
    """The list's open invitations, without tokens (owner)."""
    user, _ = await signed_in(request)
    list_id = _list_id(request)
    try:
        async with hub_of(request).db.read() as conn:
            found = await open_invites(conn, user.id, list_id, utcnow())
    except CommandRejected as exc:
        raise rejected(exc) from None
    return JSON({"invites": found})


async def revoke(request: Request) -> Response:
    """Revoke an invitation (owner; 204)."""
    user, _ = await signed_in(request)
    list_id = _list_id(request)
    invite_id = path_uuid(request, "invite_id", "invitation")
    try:
        async with hub_of(request).db.write() as conn:
            await revoke_invite(conn, user.id, list_id, invite_id, utcnow())
    except CommandRejected as exc:
        raise rejected(exc) from None
    return Response(status_code=204)


routes = [
    Route("/api/lists", listing, methods=["GET"]),
    Route("/api/lists", create, methods=["POST"]),
    Route("/api/lists/{list_id}", read, methods=["GET"]),
    Route("/api/lists/{list_id}", rename, methods=["PATCH"]),
    Route("/api/lists/{list_id}", remove, methods=["DELETE"]),
    Route("/api/lists/{list_id}/invites", invite, methods=["POST"]),
    Route("/api/lists/{list_id}/invites", invites, methods=["GET"]),
    Route("/api/lists/{list_id}/invites/{invite_id}", revoke, methods=["DELETE"]),
    Route("/api/lists/{list_id}/members/{user_id}", set_role, methods=["PATCH"]),
    Route("/api/lists/{list_id}/members/{user_id}", remove_member, methods=["DELETE"]),
]
