"""Lists over REST: read, create, rename, delete; members (role changes, removal, leaving);
the owner's invitations. Writes go through the dispatcher, so every member's devices see
them live."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.errors import ErrorCode, HubError
from hub.rest import answers
from hub.rest.bodies import NewInvite, RoleChange
from hub.rest.common import JSON, hub_of, json_object, path_uuid, rejected, signed_in
from hub.rest.spec import Operation, routes_of, validated
from hub.rest.writes import write_one
from storage.clock import utcnow
from storage.errors import CommandRejected
from storage.invites import create_invite, open_invites, revoke_invite
from storage.lists import get_list, user_lists
from storage.types import ListIn, ListPatch, Op, RemoveOp, RoleOp, parse_op

BODY_LIMIT = 64 * 1024


def _op(data: dict[str, Any]) -> Op:
    return parse_op(data, allowed=("list_create", "list_update", "list_delete"))


def _list_id(request: Request) -> str:
    return path_uuid(request, "list_id", "list")


def _member(request: Request) -> str:
    return path_uuid(request, "user_id", "member")


async def listing(request: Request) -> Response:
    """The user's lists."""
    user, _ = await signed_in(request)
    async with hub_of(request).db.read() as conn:
        found = await user_lists(conn, user.id)
    return JSON({"lists": found})


async def create(request: Request) -> Response:
    """Create a list owned by the user (201 with the list)."""
    return await write_one(request, lambda body, _: _op({"type": "list_create", "list": body}),
                           body_limit=BODY_LIMIT, answer="list", status=201)


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
    return await write_one(request, lambda body, version: _op(
        {"type": "list_update", "list_id": _list_id(request), "patch": body,
         "if_version": version}), body_limit=BODY_LIMIT, answer="list", versioned=True)


async def remove(request: Request) -> Response:
    """Delete a list and its todos (owner; 204)."""
    return await write_one(request, lambda _, version: _op(
        {"type": "list_delete", "list_id": _list_id(request), "if_version": version}),
        body_limit=None, answer=None, versioned=True)


async def set_role(request: Request) -> Response:
    """Give a member another role (owner); ``owner`` hands ownership over."""
    def op(body: dict[str, Any] | None, _: int | None) -> Op:
        role = validated(RoleChange, body).role
        member = _member(request)
        return RoleOp(_list_id(request), member, role)

    return await write_one(request, op, body_limit=BODY_LIMIT, answer="list")


async def remove_member(request: Request) -> Response:
    """Remove a member (owner), or leave (oneself); 204."""
    def op(body: dict[str, Any] | None, _: int | None) -> Op:
        member = _member(request)
        return RemoveOp(_list_id(request), member)

    return await write_one(request, op, body_limit=None, answer=None)


def _public_url(request: Request) -> str:
    configured = hub_of(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def invite(request: Request) -> Response:
    """A new invitation (owner): its token is shown only in this answer."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    body = validated(NewInvite, await json_object(request, BODY_LIMIT))
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


_WRITE = ("Idempotency-Key",)
_VERSIONED = ("If-Match", *_WRITE)
operations = [
    Operation("GET", "/api/lists", listing, {200: answers.Lists}, "lists"),
    Operation("POST", "/api/lists", create, {201: answers.TodoList}, "lists", body=ListIn,
              headers=_WRITE, errors=(404, 409)),
    Operation("GET", "/api/lists/{list_id}", read, {200: answers.TodoList}, "lists",
              errors=(404,)),
    Operation("PATCH", "/api/lists/{list_id}", rename, {200: answers.TodoList}, "lists",
              body=ListPatch, headers=_VERSIONED, errors=(404, 409, 412)),
    Operation("DELETE", "/api/lists/{list_id}", remove, {204: None}, "lists",
              headers=_VERSIONED, errors=(404, 409, 412)),
    Operation("POST", "/api/lists/{list_id}/invites", invite, {201: answers.NewInvitation},
              "sharing", body=NewInvite, errors=(404,)),
    Operation("GET", "/api/lists/{list_id}/invites", invites, {200: answers.Invitations},
              "sharing", errors=(403, 404)),
    Operation("DELETE", "/api/lists/{list_id}/invites/{invite_id}", revoke, {204: None},
              "sharing", errors=(404,)),
    Operation("PATCH", "/api/lists/{list_id}/members/{user_id}", set_role,
              {200: answers.TodoList}, "sharing", body=RoleChange, headers=_WRITE,
              errors=(404, 409)),
    Operation("DELETE", "/api/lists/{list_id}/members/{user_id}", remove_member,
              {204: None}, "sharing", headers=_WRITE, errors=(404, 409)),
]
routes = routes_of(operations)
