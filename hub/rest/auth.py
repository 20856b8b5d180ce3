"""Accounts and tokens: register, guest, upgrade, login, refresh, logout, me."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auth import refresh
from auth.errors import InvalidToken, TokenReused
from hub.attempts import Reservation, Rule
from hub.authn import bearer_token, is_personal
from hub.context import HubContext
from hub.errors import ErrorCode, HubError
from hub.rest import answers
from hub.rest.bodies import Login, NewAccount, Password, RefreshToken
from hub.rest.common import JSON, client_address, hub_of, json_object, signed_in
from hub.rest.queries import LogoutQuery
from hub.rest.spec import Operation, query_of, routes_of, validated
from storage.list_commands import leave_every_list
from storage.sessions import revoke_session, revoke_user_sessions
from storage.users import (
    UsernameTaken,
    UserRecord,
    create_user,
    delete_user,
    find_login,
    get_user,
    upgrade_guest,
)

AUTH_BODY_LIMIT = 16 * 1024


def _per_address(request: Request, kind: str, rate: float, burst: int) -> Rule:
    """``burst`` attempts of ``kind`` per client address in ``burst / rate`` seconds."""
    window = burst / rate if rate > 0 else 1.0
    return Rule(f"{kind}|{client_address(request)}", burst if rate > 0 else 0, window)


async def _reserve(hub: HubContext, rules: list[Rule], message: str) -> Reservation:
    """Record an attempt under every rule before the costly part, or answer 429."""
    reserved = await hub.attempts.reserve(rules)
    if not isinstance(reserved, Reservation):
        raise HubError(ErrorCode.RATE_LIMITED, message,
                       headers={"Retry-After": str(max(1, int(reserved + 0.999)))})
    return reserved


def _registration_rule(hub: HubContext, request: Request) -> Rule:
    settings = hub.settings
    return _per_address(request, "register", settings.register_rate, settings.register_burst)


async def _tokens(hub: HubContext, user: UserRecord,
                  grant: refresh.RefreshGrant | None = None) -> dict[str, Any]:
    if grant is None:
        async with hub.db.write() as conn:
            grant = await refresh.start_session(conn, user.id, hub.settings.refresh_ttl)
    session_id, refresh_token = grant.session_id, grant.token
    if grant.issued_at is not None:
        # Dated and named after the refresh token, so a retry within the grace gets this
        # very access token again.
        jti = hashlib.sha256(refresh_token.encode()).hexdigest()[:32]
        access, _ = hub.issuer.issue(user.id, session_id, now=grant.issued_at, jti=jti)
    else:
        access, _ = hub.issuer.issue(user.id, session_id)
    return {"access_token": access, "refresh_token": refresh_token, "token_type": "bearer",
            "expires_in": hub.issuer.ttl, "user": user.public()}


async def register(request: Request) -> Response:
    """Create a user (201), 409 when the name is taken, 422 for a weak password."""
    hub = hub_of(request)
    account = validated(NewAccount, await json_object(request, AUTH_BODY_LIMIT))
    await _reserve(hub, [_registration_rule(hub, request)],
                   "too many registrations from this address; wait before retrying")
    hashed = await hub.hasher.hash(account.password)
    try:
        async with hub.db.write() as conn:
            user = await create_user(conn, account.username, hashed, account.email)
    except UsernameTaken:
        raise HubError(ErrorCode.CONFLICT,
                       f"the username {account.username!r} (or email) is taken")
    return JSON(user.public(), status_code=201)


async def guest(request: Request) -> Response:
    """A new guest user with its tokens, so a first visit needs no form."""
    hub = hub_of(request)
    if not hub.settings.guest_enabled:
        raise HubError(ErrorCode.FORBIDDEN, "guest accounts are turned off on this hub")
    settings = hub.settings
    await _reserve(hub, [_per_address(request, "guest", settings.guest_rate,
                                      settings.guest_burst)],
                   "too many guest accounts from this address")
    async with hub.db.write() as conn:
        user = await create_user(conn, f"guest-{secrets.token_hex(6)}", None, guest=True)
    return JSON(await _tokens(hub, user), status_code=201)


async def upgrade(request: Request) -> Response:
    """Turn the signed-in guest into a full account, keeping its todos."""
    hub = hub_of(request)
    user, _claims = await signed_in(request)
    account = validated(NewAccount, await json_object(request, AUTH_BODY_LIMIT))
    if not user.guest:
        raise HubError(ErrorCode.CONFLICT, "this account is already a full account")
    await _reserve(hub, [_registration_rule(hub, request)],
                   "too many registrations from this address; wait before retrying")
    hashed = await hub.hasher.hash(account.password)
    try:
        async with hub.db.write() as conn:
            upgraded = await upgrade_guest(conn, user.id, account.username, hashed,
                                           account.email)
    except UsernameTaken:
        raise HubError(ErrorCode.CONFLICT,
                       f"the username {account.username!r} (or email) is taken")
    return JSON(await _tokens(hub, upgraded))


async def login(request: Request) -> Response:
    """Access and refresh tokens for a username (or email) and password."""
    hub = hub_of(request)
    credentials = validated(Login, await json_object(request, AUTH_BODY_LIMIT))
    username, password = credentials.username, credentials.password
    # Failures count per address and username, and per username from every address; the
    # attempt is reserved before the slow hash, so parallel guesses cannot all slip through.
    pair, anywhere = _login_rules(hub, request, username)
    reserved = await _reserve(hub, [pair, anywhere],
                              "too many failed logins; wait before retrying")
    async with hub.db.read() as conn:
        user = await find_login(conn, username)
    if not await hub.hasher.verify(password, user.password_hash if user else None) or not user:
        raise HubError(ErrorCode.UNAUTHORIZED, "wrong username or password")
    await hub.attempts.release(reserved)
    await hub.attempts.clear(pair.key)
    return JSON(await _tokens(hub, user))


async def refresh_tokens(request: Request) -> Response:
    """Rotate a refresh token: a new pair. A token spent within the grace answers the same
    pair again; any other spent token revokes its session."""
    hub = hub_of(request)
    token = validated(RefreshToken, await json_object(request, AUTH_BODY_LIMIT)).refresh_token
    try:
        async with hub.db.write() as conn:
            grant = await refresh.rotate(conn, token, hub.settings.refresh_ttl,
                                         hub.settings.refresh_grace, hub.refresh_key)
            user = await get_user(conn, grant.user_id)
    except TokenReused as exc:
        # rotate's transaction rolled back with the exception: revoke in one that commits.
        async with hub.db.write() as conn:
            await revoke_session(conn, exc.session_id)
        await hub.publish_revocation(exc.user_id, exc.session_id)
        raise HubError(ErrorCode.UNAUTHORIZED, str(exc)) from None
    except InvalidToken as exc:
        raise HubError(ErrorCode.UNAUTHORIZED, str(exc)) from None
    if user is None:
        raise HubError(ErrorCode.UNAUTHORIZED, "the user no longer exists")
    return JSON(await _tokens(hub, user, grant))


async def logout(request: Request) -> Response:
    """Revoke this session (by Bearer token or refresh token), or every session with
    ``?all=true``, closing the affected live sockets."""
    hub = hub_of(request)
    everything = query_of(LogoutQuery, request).everything
    user_id: str | None = None
    session_id: str | None = None
    if bearer_token(request.headers.get("authorization")) is not None:
        user, claims = await signed_in(request)
        if is_personal(claims):
            raise HubError(ErrorCode.BAD_REQUEST, "a personal access token has no session to "
                           "end; revoke it with DELETE /api/tokens/{id}")
        user_id, session_id = user.id, claims.session_id
    else:
        body = await json_object(request, AUTH_BODY_LIMIT)
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise HubError(ErrorCode.UNAUTHORIZED,
                           "expected a Bearer token or a refresh_token in the body")
        async with hub.db.read() as conn:
            found = await refresh.session_of(conn, token)
        if found is None:
            raise HubError(ErrorCode.UNAUTHORIZED, "unknown refresh token")
        session_id, user_id = found
    async with hub.db.write() as conn:
        if everything:
            await revoke_user_sessions(conn, user_id)
        else:
            await revoke_session(conn, session_id)
    await hub.publish_revocation(user_id, None if everything else session_id)
    return Response(status_code=204)


async def me(request: Request) -> Response:
    """The signed-in user."""
    user, _ = await signed_in(request)
    return JSON(user.public())


def _login_rules(hub: HubContext, request: Request, name: str) -> tuple[Rule, Rule]:
    """The two counts a password guess for ``name`` goes against: from this address, and
    from everywhere."""
    settings = hub.settings
    return (Rule(f"login|{client_address(request)}|{name.lower()}",
                 settings.login_max_failures, settings.login_failure_window),
            Rule(f"login-user|{name.lower()}", settings.login_user_max_failures,
                 settings.login_failure_window))


async def delete_me(request: Request) -> Response:
    """Delete the signed-in account and everything of it (a full account confirms with its
    password in the body; a guest needs none), closing its sockets on every process."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    if not user.guest:
        password = validated(Password, await json_object(request, AUTH_BODY_LIMIT)).password
        rules = list(_login_rules(hub, request, user.username))
        reserved = await _reserve(hub, rules, "too many wrong passwords; wait before retrying")
        if not await hub.hasher.verify(password, user.password_hash):
            raise HubError(ErrorCode.UNAUTHORIZED, "wrong password")
        await hub.attempts.release(reserved)
    async with hub.db.write() as conn:
        told = await leave_every_list(conn, user.id, hub.dispatcher.limits)
        await delete_user(conn, user.id)
    await hub.dispatcher.publish(told)
    await hub.publish_revocation(user.id, None)
    return Response(status_code=204)


_TOO_MANY = (429,)
operations = [
    Operation("POST", "/api/auth/register", register, {201: answers.User}, "accounts",
              body=NewAccount, signed_in=False, errors=(409, 429)),
    Operation("POST", "/api/auth/guest", guest, {201: answers.Tokens}, "accounts",
              signed_in=False, errors=(403, 429)),
    Operation("POST", "/api/auth/upgrade", upgrade, {200: answers.Tokens}, "accounts",
              body=NewAccount, errors=(409, 429)),
    Operation("POST", "/api/auth/login", login, {200: answers.Tokens}, "accounts",
              body=Login, signed_in=False, errors=(401, 429)),
    Operation("POST", "/api/auth/refresh", refresh_tokens, {200: answers.Tokens}, "accounts",
              body=RefreshToken, signed_in=False, errors=(401,)),
    # A Bearer token or a refresh token in the body: either signs the request in.
    Operation("POST", "/api/auth/logout", logout, {204: None}, "accounts", body=RefreshToken,
              body_required=False, query=LogoutQuery, errors=(400,), token_optional=True),
    Operation("GET", "/api/auth/me", me, {200: answers.User}, "accounts"),
    Operation("DELETE", "/api/auth/me", delete_me, {204: None}, "accounts", body=Password,
              body_required=False, errors=_TOO_MANY),
]
routes = routes_of(operations)
