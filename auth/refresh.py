"""Sessions with rotating refresh tokens: each refresh spends the token and issues the next;
presenting a spent token again revokes the whole session (reuse detection).

A refresh whose answer was lost (a network drop, a script's retry, two processes of one
script) presents the same token twice a moment apart. Within ``grace`` seconds of the first
presentation the spent token answers the *same* new pair again, as long as that pair's refresh
token is still unspent; after the grace, or once the successor was used, it is reuse. The
successor is not stored in the clear: it is an HMAC of the spent token under the hub's key,
so the second presentation can compute it again and the database holds hashes only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from auth.errors import InvalidToken, TokenReused
from storage import sessions as store
from storage.clock import format_time, parse_time, utcnow


@dataclass(frozen=True)
class RefreshGrant:
    """A fresh refresh token (shown once) and the session it belongs to; ``issued_at`` (unix
    seconds) dates the access token that goes with it, so a retried refresh gets the same."""

    token: str
    session_id: str
    user_id: str
    issued_at: int | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def successor_key(secret: str) -> bytes:
    """The key that derives successors from the signing secret (one secret, two uses kept
    apart)."""
    return hmac.new(secret.encode(), b"todohub refresh successor", hashlib.sha256).digest()


def _successor(key: bytes, token: str) -> str:
    digest = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def start_session(conn: AsyncConnection, user_id: str, ttl: int) -> RefreshGrant:
    """Open a session and issue its first refresh token."""
    session_id = await store.open_session(conn, user_id)
    return await _issue(conn, secrets.token_urlsafe(32), session_id, user_id, ttl)


async def _issue(conn: AsyncConnection, token: str, session_id: str, user_id: str, ttl: int,
                 issued_at: int | None = None) -> RefreshGrant:
    expires = format_time(datetime.now(UTC) + timedelta(seconds=ttl))
    await store.add_refresh_token(conn, _hash(token), session_id, user_id, expires)
    return RefreshGrant(token, session_id, user_id, issued_at)


async def rotate(conn: AsyncConnection, token: str, ttl: int, grace: float = 0.0,
                 key: bytes = b"") -> RefreshGrant:
    """Spend ``token`` and issue the next one of its session.

    Raises InvalidToken when the token is unknown, expired or revoked. A token spent less
    than ``grace`` seconds ago whose successor is unspent answers that successor again (with
    the same ``issued_at``); any other spent token raises TokenReused, after revoking the
    session (the token leaked, or was replayed). Without a ``key`` there is no grace.
    On TokenReused the caller must revoke the session in a transaction that commits.
    """
    record = await store.find_refresh_token(conn, _hash(token))
    if record is None:
        raise InvalidToken("unknown refresh token")
    if record.session_revoked:
        raise InvalidToken("the session of this refresh token was revoked")
    if record.used_at is None:
        if record.expires_at <= utcnow():
            raise InvalidToken("the refresh token has expired")
        stamp = utcnow()
        if await store.spend_refresh_token(conn, _hash(token), stamp):
            successor = _successor(key, token) if key else secrets.token_urlsafe(32)
            return await _issue(conn, successor, record.session_id, record.user_id, ttl,
                                int(parse_time(stamp).timestamp()))
        # Another presentation spent it a moment ago (it has committed): read its stamp.
        record = await store.find_refresh_token(conn, _hash(token)) or record
    again = await _within_grace(conn, token, record.used_at, grace, key)
    if again is not None:
        return RefreshGrant(again, record.session_id, record.user_id,
                            int(parse_time(record.used_at or utcnow()).timestamp()))
    await store.revoke_session(conn, record.session_id)
    raise TokenReused(record.session_id, record.user_id)


async def _within_grace(conn: AsyncConnection, token: str, used_at: str | None, grace: float,
                        key: bytes) -> str | None:
    """The successor of a token spent less than ``grace`` seconds ago, while it is unspent."""
    if not key or grace <= 0 or used_at is None:
        return None
    spent = parse_time(used_at)
    if datetime.now(UTC) - spent > timedelta(seconds=grace):
        return None
    successor = _successor(key, token)
    following = await store.find_refresh_token(conn, _hash(successor))
    if following is None or following.used_at is not None or following.session_revoked:
        return None
    return successor


async def session_of(conn: AsyncConnection, token: str) -> tuple[str, str] | None:
    """The session id and user id of a refresh token, or None when unknown."""
    record = await store.find_refresh_token(conn, _hash(token))
    return (record.session_id, record.user_id) if record is not None else None
