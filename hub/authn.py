"""From an access token to a user: signature, expiry, type, session not revoked, user exists.
Shared by the socket's hello and auth frames and by REST's Bearer header. Personal access
tokens (``thp_...``) are accepted in the same places."""

from __future__ import annotations

from auth import access_tokens
from auth.errors import InvalidToken
from auth.tokens import AccessClaims, TokenIssuer
from storage.engine import Database
from storage.sessions import session_active
from storage.users import UserRecord, get_user


async def authenticate(
    db: Database, issuer: TokenIssuer, token: str
) -> tuple[UserRecord, AccessClaims]:
    """The user and claims of a valid access token; InvalidToken otherwise."""
    if access_tokens.is_personal(token):
        return await _authenticate_personal(db, token)
    claims = issuer.verify(token)
    async with db.read() as conn:
        if not await session_active(conn, claims.session_id, claims.user_id):
            raise InvalidToken("the session of this token was revoked")
        user = await get_user(conn, claims.user_id)
    if user is None:
        raise InvalidToken("the token's user no longer exists")
    return user, claims


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
