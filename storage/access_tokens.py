"""Personal access tokens in the database: rows keyed by the hash of their secret."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import utcnow
from storage.models import access_tokens


@dataclass(frozen=True)
class AccessTokenRecord:
    """A stored personal access token (without its secret)."""

    id: str
    user_id: str
    name: str
    scope: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None

    def public(self) -> dict[str, Any]:
        """The wire's token object (never the secret)."""
        return {"id": self.id, "name": self.name, "scope": self.scope,
                "created_at": self.created_at, "expires_at": self.expires_at,
                "last_used_at": self.last_used_at}


_FIELDS = (access_tokens.c.id, access_tokens.c.user_id, access_tokens.c.name,
           access_tokens.c.scope, access_tokens.c.created_at, access_tokens.c.expires_at,
           access_tokens.c.last_used_at)


def _record(row: Any) -> AccessTokenRecord:
    return AccessTokenRecord(row.id, row.user_id, row.name, row.scope, row.created_at,
                             row.expires_at, row.last_used_at)


async def add_access_token(
    conn: AsyncConnection, user_id: str, name: str, scope: str, token_hash: str,
    expires_at: str | None,
) -> AccessTokenRecord:
    """Store a new token of the user; returns its record."""
    record = AccessTokenRecord(str(uuid.uuid4()), user_id, name, scope, utcnow(), expires_at,
                               None)
    await conn.execute(insert(access_tokens).values(
        id=record.id, user_id=user_id, name=name, scope=scope, token_hash=token_hash,
        created_at=record.created_at, expires_at=expires_at,
    ))
    return record


async def find_access_token(conn: AsyncConnection, token_hash: str) -> AccessTokenRecord | None:
    """The token with this hash, or None."""
    row = (await conn.execute(
        select(*_FIELDS).where(access_tokens.c.token_hash == token_hash)
    )).first()
    return _record(row) if row is not None else None


async def list_access_tokens(conn: AsyncConnection, user_id: str) -> list[AccessTokenRecord]:
    """The user's tokens, oldest first."""
    rows = await conn.execute(
        select(*_FIELDS).where(access_tokens.c.user_id == user_id)
        .order_by(access_tokens.c.created_at, access_tokens.c.id)
    )
    return [_record(row) for row in rows]


async def delete_access_token(conn: AsyncConnection, user_id: str, token_id: str) -> bool:
    """Remove one of the user's tokens; False when the user has no such token."""
    result = await conn.execute(
        delete(access_tokens).where(access_tokens.c.id == token_id,
                                    access_tokens.c.user_id == user_id)
    )
    return (result.rowcount or 0) == 1


async def touch_access_token(conn: AsyncConnection, token_id: str, stale_before: str) -> None:
    """Record a use now, unless one was recorded at ``stale_before`` or later."""
    await conn.execute(
        update(access_tokens)
        .where(access_tokens.c.id == token_id,
               or_(access_tokens.c.last_used_at.is_(None),
                   access_tokens.c.last_used_at < stale_before))
        .values(last_used_at=utcnow())
    )
