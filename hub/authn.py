"""From an access token to a user: signature, expiry, type, session not revoked, user exists.
Shared by the socket's hello and auth frames and by REST's Bearer header. Personal access
tokens (``thp_...``) are accepted in the same places.

Hellos that arrive together (a restart storm, a busy minute) are checked together: the
session lookups waiting while one read is in flight go in the next read, as one statement
(``SessionCheck``), the way the writer groups commands. Each check still reads the database
after its token arrived, so a revoked session is refused exactly as before.
"""

from __future__ import annotations

import asyncio

from auth import access_tokens
from auth.errors import InvalidToken
from auth.tokens import AccessClaims, TokenIssuer
from storage.engine import Database
from storage.users import SessionOwner, UserRecord, get_user, session_owners

# Session ids in one lookup statement (well under SQLite's limit on bound parameters).
MAX_GROUP = 500


def _resolve(claims: AccessClaims, owner: SessionOwner | None) -> UserRecord:
    """The user of verified ``claims`` given what the database holds of their session."""
    if owner is None or owner.user_id != claims.user_id or owner.revoked:
        raise InvalidToken("the session of this token was revoked")
    if owner.user is None:
        raise InvalidToken("the token's user no longer exists")
    return owner.user


async def authenticate(
    db: Database, issuer: TokenIssuer, token: str
) -> tuple[UserRecord, AccessClaims]:
    """The user and claims of a valid access token; InvalidToken otherwise."""
    if access_tokens.is_personal(token):
        return await _authenticate_personal(db, token)
    claims = issuer.verify(token)
    async with db.read() as conn:
        owners = await session_owners(conn, [claims.session_id])
    return _resolve(claims, owners.get(claims.session_id)), claims


_Waiting = tuple[AccessClaims, "asyncio.Future[tuple[UserRecord, AccessClaims]]"]


class SessionCheck:
    """``authenticate`` for many sockets at once: lookups that wait share one read."""

    def __init__(self, db: Database, issuer: TokenIssuer) -> None:
        self._db = db
        self._issuer = issuer
        self._waiting: list[_Waiting] = []
        self._reader: asyncio.Task[None] | None = None

    async def check(self, token: str) -> tuple[UserRecord, AccessClaims]:
        """The user and claims of a valid access token; InvalidToken otherwise."""
        if access_tokens.is_personal(token):
            return await _authenticate_personal(self._db, token)
        claims = self._issuer.verify(token)
        future: asyncio.Future[tuple[UserRecord, AccessClaims]] = (
            asyncio.get_running_loop().create_future())
        self._waiting.append((claims, future))
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_all())
        return await future

    async def _read_all(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                try:
                    async with self._db.read() as conn:
                        owners = await session_owners(conn, {c.session_id for c, _ in group})
                except Exception as exc:  # noqa: BLE001 (each waiting hello gets it)
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for claims, future in group:
                    if future.done():  # its socket went away meanwhile
                        continue
                    try:
                        future.set_result((_resolve(claims, owners.get(claims.session_id)),
                                           claims))
                    except InvalidToken as exc:
                        future.set_exception(exc)
        finally:
            self._reader = None


async def _authenticate_personal(db: Database, token: str) -> tuple[UserRecord, AccessClaims]:
    async with db.read() as conn:
        record, claims = await access_tokens.verify(conn, token)
        user = await get_user(conn, claims.user_id)
    if user is None:
        raise InvalidToken("the token's user no longer exists")
    cutoff = access_tokens.needs_touch(record)
    if cutoff is not None:
        async with db.write() as conn:
            await access_tokens.touch(conn, record, cutoff)
    return user, claims


def is_read_only(claims: AccessClaims) -> bool:
    """Whether the claims are those of a token that may only read."""
    return isinstance(claims, access_tokens.PersonalClaims) and not claims.can_write


def is_personal(claims: AccessClaims) -> bool:
    """Whether the claims are those of a personal access token."""
    return isinstance(claims, access_tokens.PersonalClaims)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
