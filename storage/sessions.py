"""Sign-in sessions and their rotating refresh tokens (stored as hashes only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import utcnow
from storage.models import refresh_tokens, sessions


@dataclass(frozen=True)
class RefreshRecord:
    """A stored refresh token and the state of its session."""

    session_id: str
    user_id: str
    expires_at: str
    used_at: str | None
    session_revoked: bool


async def open_session(conn: AsyncConnection, user_id: str) -> str:
    """Start a session for the user; returns its id."""
    session_id = str(uuid.uuid4())
    await conn.execute(insert(sessions).values(id=session_id, user_id=user_id,
                                               created_at=utcnow()))
    return session_id


async def add_refresh_token(
    conn: AsyncConnection, token_hash: str, session_id: str, user_id: str, expires_at: str
) -> None:
    """Store a new refresh token of a session."""
    await conn.execute(
        insert(refresh_tokens).values(
            token_hash=token_hash, session_id=session_id, user_id=user_id, created_at=utcnow(),
            expires_at=expires_at,
        )
    )


async def find_refresh_token(conn: AsyncConnection, token_hash: str) -> RefreshRecord | None:
    """The refresh token with this hash, with its session's state, or None."""
    row = (
        await conn.execute(
            select(
                refresh_tokens.c.session_id, refresh_tokens.c.user_id, refresh_tokens.c.expires_at,
                refresh_tokens.c.used_at, sessions.c.revoked_at,
            )
            .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
            .where(refresh_tokens.c.token_hash == token_hash)
        )
    ).first()
    if row is None:
        return None
    return RefreshRecord(row.session_id, row.user_id, row.expires_at, row.used_at,
                         row.revoked_at is not None)


async def spend_refresh_token(
    conn: AsyncConnection, token_hash: str, used_at: str | None = None
) -> bool:
    """Mark the token used (at ``used_at``, default now); False when it was already used (a
    concurrent or replayed refresh)."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used_at.is_(None))
        .values(used_at=used_at or utcnow())
    )
    return (result.rowcount or 0) == 1


async def revoke_session(conn: AsyncConnection, session_id: str) -> None:
    """Revoke one session (and so every token of its family)."""
    await conn.execute(
        update(sessions).where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_user_sessions(conn: AsyncConnection, user_id: str) -> None:
    """Revoke every session of the user."""
    await conn.execute(
        update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def session_active(conn: AsyncConnection, session_id: str, user_id: str) -> bool:
    """Whether the session exists for this user and is not revoked."""
    row = (
        await conn.execute(
            select(sessions.c.revoked_at).where(
                sessions.c.id == session_id, sessions.c.user_id == user_id
            )
        )
    ).first()
    return row is not None and row.revoked_at is None
