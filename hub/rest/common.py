"""Shared pieces of the REST routes: error bodies, JSON bodies, the signed-in user."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import InvalidToken
from auth.tokens import AccessClaims
from hub.authn import authenticate, bearer_token, is_read_only
from hub.context import HubContext
from hub.errors import ErrorCode, HubError
from hub.protocol import load_json
from storage.codec import dumps
from storage.errors import CommandRejected
from storage.lists import role_in
from storage.types import MAX_INT, Command, TodoId, check_op_id, echo
from storage.users import UserRecord

REST_DEVICE = "rest"
_UUID: TypeAdapter[str] = TypeAdapter(TodoId)  # a todo's or list's id: a UUID, as ASCII text
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    """The request's JSON body, refused with 413 past ``limit`` bytes, 400 when it is not
    UTF-8 JSON (or nested too deep) and 422 naming a string that is not valid text."""
    declared = request.headers.get("content-length")
    if declared is not None and is_whole_number(declared) and int(declared) > limit:
        raise HubError(ErrorCode.TOO_LARGE, f"body larger than {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise HubError(ErrorCode.TOO_LARGE, f"body larger than {limit} bytes")
    if not raw:
        raise HubError(ErrorCode.BAD_REQUEST, "expected a JSON body, got nothing")
    return load_json(raw)


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is ASCII digits only (``int()`` would also take ``" 4"``, ``"4_0"``
    and other scripts' digits, and ``str.isdigit()`` takes ``"²"``, which ``int()`` refuses)."""
    return text.isascii() and text.isdigit()


def whole_in(raw: str, low: int, high: int) -> int | None:
    """``raw`` as a whole number when it is ASCII digits within ``low..high``, else None."""
    # Beyond 19 digits the value is out of every range here (and int() stays cheap).
    if is_whole_number(raw) and len(raw) <= 19 and low <= int(raw) <= high:
        return int(raw)
    return None


def whole_number(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter or header in ``low..high``; 422 naming it otherwise."""
    if raw is None:
        return default
    number = whole_in(raw, low, high)
    if number is None:
        raise HubError(ErrorCode.VALIDATION, f"{name} must be a whole number {low}-{high}",
                       [{"field": name, "reason": f"must be a whole number {low}-{high}"}])
    return number


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
        user, claims = await authenticate(hub.db, hub.issuer, token)
    except InvalidToken as exc:
        raise HubError(ErrorCode.UNAUTHORIZED, str(exc),
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    # The one place a read token's writes are refused: every REST route signs in here.
    if is_read_only(claims) and request.method not in SAFE_METHODS:
        raise HubError(ErrorCode.FORBIDDEN, f"this access token may only read; "
                       f"{request.method} needs a token with scope 'write'")
    return user, claims


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
    reason = check_op_id(key)
    if reason is not None:
        raise HubError(ErrorCode.VALIDATION, f"Idempotency-Key {reason}",
                       [{"field": "Idempotency-Key", "reason": reason}])
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
    if not is_whole_number(text) or len(text) > 19 or int(text) > MAX_INT:
        raise HubError(ErrorCode.VALIDATION,
                       f"If-Match must be a version number, got {echo(raw)}",
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
        return str(_UUID.validate_python(raw))
    except ValidationError:
        raise HubError(ErrorCode.NOT_FOUND, f"no {what} with id {echo(raw)}") from None


async def visible_list(conn: AsyncConnection, user_id: str, list_id: str | None) -> None:
    """404 unless the user belongs to the list (nothing to check for None)."""
    if list_id is not None and await role_in(conn, user_id, list_id) is None:
        raise HubError(ErrorCode.NOT_FOUND, f"no list with id {list_id}")
