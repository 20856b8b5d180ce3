"""Sessions with rotating refresh tokens: each refresh spends the token and issues the next;
presenting a spent token again revokes the whole session (reuse detection)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from auth.errors import InvalidToken, TokenReused
from storage import sessions as store
from storage.clock import format_time, utcnow


@dataclass(frozen=True)
class RefreshGrant:
    """A fresh refresh token (shown once) and the session it belongs to."""

    token: str
    session_id: str
    user_id: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(conn: AsyncConnection, user_id: str, ttl: int) -> RefreshGrant:
    """Open a session and issue its first refresh token."""
    session_id = await store.open_session(conn, user_id)
    return await _issue(conn, session_id, user_id, ttl)


async def _issue(conn: AsyncConnection, session_id: str, user_id: str, ttl: int) -> RefreshGrant:
    token = secrets.token_urlsafe(32)
    expires = format_time(datetime.now(UTC) + timedelta(seconds=ttl))
    await store.add_refresh_token(conn, _hash(token), session_id, user_id, expires)
    return RefreshGrant(token, session_id, user_id)


async def rotate(conn: AsyncConnection, token: str, ttl: int) -> RefreshGrant:
    """Spend ``token`` and issue the next one of its session.

    Raises InvalidToken when the token is unknown, expired or revoked; when it was already
    spent, revokes its session first (the token leaked, or was replayed).
    On TokenReused the caller must revoke the session in a transaction that commits.
    """
    record = await store.find_refresh_token(conn, _hash(token))
    if record is None:
        raise InvalidToken("unknown refresh token")
    if record.session_revoked:
        raise InvalidToken("the session of this refresh token was revoked")
    if record.used_at is not None or not await store.spend_refresh_token(conn, _hash(token)):
        await store.revoke_session(conn, record.session_id)
        raise TokenReused(record.session_id, record.user_id)
    if record.expires_at <= utcnow():
        raise InvalidToken("the refresh token has expired")
    return await _issue(conn, record.session_id, record.user_id, ttl)


async def session_of(conn: AsyncConnection, token: str) -> tuple[str, str] | None:
    """The session id and user id of a refresh token, or None when unknown."""
    record = await store.find_refresh_token(conn, _hash(token))
    return (record.session_id, record.user_id) if record is not None else None
