"""From an access token to a user: signature, expiry, type, session not revoked, user exists.
Shared by the socket's hello and auth frames and by REST's Bearer header. Personal access
tokens (``thp_...``) are accepted in the same places.

A hello's session is looked up in its catch-up read (hub.catchup: hellos that arrive
together share one read transaction); ``resolve`` is the rule for it, as for
``authenticate``. Each check reads the database after its token arrived, so a revoked
session is refused at once.
"""

from __future__ import annotations

from auth import access_tokens
from auth.errors import InvalidToken
from auth.tokens import AccessClaims, TokenIssuer
from storage.engine import Database
from storage.users import SessionOwner, UserRecord, get_user, session_owners


def resolve(claims: AccessClaims, owner: SessionOwner | None) -> UserRecord:
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
    return resolve(claims, owners.get(claims.session_id)), claims


async def verify_hello(
    db: Database, issuer: TokenIssuer, token: str
) -> tuple[UserRecord | None, AccessClaims]:
    """A hello's claims, checked as far as they can be without its session: a personal
    token in full (with its user), an access token's signature, expiry and type (its
    session is then looked up with the catch-up, see ``resolve``); InvalidToken otherwise."""
    if access_tokens.is_personal(token):
        return await _authenticate_personal(db, token)
    return None, issuer.verify(token)


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
