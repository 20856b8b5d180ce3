"""From an access token to a user: signature, expiry, type, session not revoked, user exists.
Shared by the socket's hello and auth frames and by REST's Bearer header."""

from __future__ import annotations

from auth.errors import InvalidToken
from auth.tokens import AccessClaims, TokenIssuer
from storage.engine import Database
from storage.sessions import session_active
from storage.users import UserRecord, get_user


async def authenticate(
    db: Database, issuer: TokenIssuer, token: str
) -> tuple[UserRecord, AccessClaims]:
    """The user and claims of a valid access token; InvalidToken otherwise."""
    claims = issuer.verify(token)
    async with db.read() as conn:
        if not await session_active(conn, claims.session_id, claims.user_id):
            raise InvalidToken("the session of this token was revoked")
        user = await get_user(conn, claims.user_id)
    if user is None:
        raise InvalidToken("the token's user no longer exists")
    return user, claims


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
