"""Shared pieces of the REST routes: error bodies, JSON bodies, the signed-in user."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import InvalidToken
from auth.tokens import AccessClaims
from hub.authn import authenticate, bearer_token
from hub.context import HubContext
from hub.errors import ErrorCode, HubError
from storage.codec import dumps
from storage.errors import CommandRejected
from storage.lists import role_in
from storage.types import Command
from storage.users import UserRecord

REST_DEVICE = "rest"


class JSON(JSONResponse):
    """Compact JSON responses."""

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()


def hub_of(request: Request) -> HubContext:
    """The running hub."""
    hub: HubContext = request.app.state.hub
    return hub


def error_response(exc: HubError) -> Response:
    """The JSON body and status of an error."""
    return JSON({"error": exc.body()}, status_code=exc.status, headers=exc.headers)


async def json_body(request: Request, limit: int) -> Any:
    """The request's JSON body, refused with 413 past ``limit`` bytes and 400 when malformed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HubError(ErrorCode.TOO_LARGE, f"body larger than {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise HubError(ErrorCode.TOO_LARGE, f"body larger than {limit} bytes")
    if not raw:
        raise HubError(ErrorCode.BAD_REQUEST, "expected a JSON body, got nothing")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HubError(ErrorCode.BAD_REQUEST, "expected a JSON body, got text that is not JSON")


async def json_object(request: Request, limit: int) -> dict[str, Any]:
    """The request's body, which must be a JSON object."""
    body = await json_body(request, limit)
    if not isinstance(body, dict):
        raise HubError(ErrorCode.BAD_REQUEST,
                       f"expected a JSON object, got a JSON {type(body).__name__}")
    return body


async def signed_in(request: Request) -> tuple[UserRecord, AccessClaims]:
    """The user of the request's Bearer token; HubError(unauthorized) otherwise."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise HubError(ErrorCode.UNAUTHORIZED, "expected an Authorization: Bearer <token> header",
                       headers={"WWW-Authenticate": "Bearer"})
    hub = hub_of(request)
    try:
        return await authenticate(hub.db, hub.issuer, token)
    except InvalidToken as exc:
        raise HubError(ErrorCode.UNAUTHORIZED, str(exc),
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None


def client_address(request: Request) -> str:
    """The client's address for per-address limits: an IPv4 address, or the /64 network of
    an IPv6 one (a single host usually holds a whole /64 and could rotate through it).
    uvicorn has already applied X-Forwarded-For when it came from a trusted proxy."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)



def operation_id(request: Request) -> str | None:
    """The request's Idempotency-Key (the command's operation id), if any."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 64:
        raise HubError(ErrorCode.VALIDATION, "Idempotency-Key must be 1-64 characters",
                       [{"field": "Idempotency-Key", "reason": "must be 1-64 characters"}])
    return key


def fingerprint(request: Request, body: Any = None) -> str:
    """What the request is (method, path, If-Match, body), as a hash stored with its
    Idempotency-Key: the same key with another request is refused."""
    parts = [request.method, request.url.path, request.headers.get("if-match"), body]
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))  # ASCII: any text hashes
    return hashlib.sha256(text.encode()).hexdigest()


def if_match(request: Request) -> int | None:
    """The version an If-Match header asks for, bare or quoted."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise HubError(ErrorCode.VALIDATION, f"If-Match must be a version number, got {raw!r}",
                       [{"field": "If-Match", "reason": "must be a version number"}])
    return int(text)


def conflict_to_412(exc: HubError, if_version: int | None) -> HubError:
    """A version conflict of a request with If-Match answers 412."""
    if exc.code == ErrorCode.CONFLICT and if_version is not None:
        exc.status = 412
    return exc


def rejected(exc: CommandRejected) -> HubError:
    """A refusal from storage as the wire's error."""
    return HubError(exc.code, exc.message, exc.details, exc.todo, list=exc.list)


async def run_command(request: Request, user_id: str, command: Command) -> dict[str, Any]:
    """Write ``command`` through the dispatcher (as a socket command would); its answer."""
    applied = await hub_of(request).dispatcher.execute(user_id, command, REST_DEVICE)
    return applied.answer


def path_uuid(request: Request, name: str, what: str) -> str:
    """A UUID path parameter; anything else names nothing (404)."""
    raw = request.path_params[name]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise HubError(ErrorCode.NOT_FOUND, f"no {what} with id {raw}") from None


def list_param(raw: str) -> str:
    """A list id given as a query parameter."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise HubError(ErrorCode.VALIDATION, f"invalid list_id: expected a UUID, got {raw!r}",
                       [{"field": "list_id", "reason": "must be a UUID"}]) from None


async def visible_list(conn: AsyncConnection, user_id: str, list_id: str | None) -> None:
    """404 unless the user belongs to the list (nothing to check for None)."""
    if list_id is not None and await role_in(conn, user_id, list_id) is None:
        raise HubError(ErrorCode.NOT_FOUND, f"no list with id {list_id}")
