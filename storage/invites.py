"""Invitations to a list: made by its owner, the token shown once and kept only as its
SHA-256, with an expiry, a number of uses and revocation. Accepting one is a write of the
command path (storage.list_rules.join); this module makes, lists, revokes and previews."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import format_time, parse_time
from storage.errors import CommandRejected
from storage.lists import role_in
from storage.models import invitations, lists, users

INVITE_ROLES = ("editor", "viewer")
SPENT = "no such invitation (unknown, used up, expired or revoked)"


def hash_token(token: str) -> str:
    """What is stored of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite_to_wire(row: Any) -> dict[str, Any]:
    """An invitation without its token."""
    data = row if isinstance(row, dict) else row._mapping
    return {"id": data["id"], "role": data["role"], "expires_at": data["expires_at"],
            "uses_left": max(0, data["max_uses"] - data["uses"]),
            "created_at": data["created_at"]}


async def _owned(conn: AsyncConnection, user_id: str, list_id: str, action: str) -> Any:
    role = await role_in(conn, user_id, list_id)
    if role is None:
        raise CommandRejected("not_found", f"no list with id {list_id}")
    if role != "owner":
        raise CommandRejected("forbidden", f"only the owner of list {list_id} may {action}")
    row = (await conn.execute(select(lists).where(lists.c.id == list_id))).one()
    return row


async def create_invite(
    conn: AsyncConnection, user_id: str, list_id: str, role: str, expires_in: int,
    max_uses: int, now: str,
) -> dict[str, Any]:
    """A new invitation to the user's list, with its token (shown only now)."""
    row = await _owned(conn, user_id, list_id, "invite")
    if row.inbox:
        raise CommandRejected("forbidden", "the inbox cannot be shared")
    token = secrets.token_urlsafe(32)
    values = {
        "id": str(uuid.uuid4()), "list_id": list_id, "token_hash": hash_token(token),
        "role": role, "created_by": user_id, "created_at": now,
        "expires_at": format_time(parse_time(now) + timedelta(seconds=expires_in)),
        "max_uses": max_uses, "uses": 0, "revoked_at": None,
    }
    await conn.execute(insert(invitations).values(values))
    return {**invite_to_wire(values), "token": token}


async def open_invites(conn: AsyncConnection, user_id: str, list_id: str,
                       now: str) -> list[dict[str, Any]]:
    """The invitations of the user's list that can still be accepted."""
    await _owned(conn, user_id, list_id, "see its invitations")
    rows = await conn.execute(
        select(invitations).where(
            invitations.c.list_id == list_id, invitations.c.revoked_at.is_(None),
            invitations.c.expires_at > now, invitations.c.uses < invitations.c.max_uses,
        ).order_by(invitations.c.created_at, invitations.c.id)
    )
    return [invite_to_wire(row) for row in rows]


async def revoke_invite(conn: AsyncConnection, user_id: str, list_id: str, invite_id: str,
                        now: str) -> None:
    """Revoke one invitation of the user's list."""
    await _owned(conn, user_id, list_id, "revoke its invitations")
    result = await conn.execute(
        update(invitations)
        .where(invitations.c.id == invite_id, invitations.c.list_id == list_id,
               invitations.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not result.rowcount:
        raise CommandRejected("not_found", f"no open invitation with id {invite_id}")


async def preview(conn: AsyncConnection, token: str, now: str) -> dict[str, Any]:
    """What an invitation offers, before joining; not_found exactly as accepting answers."""
    row = (await conn.execute(
        select(invitations, lists.c.name, users.c.username)
        .join(lists, lists.c.id == invitations.c.list_id)
        .join(users, users.c.id == invitations.c.created_by)
        .where(invitations.c.token_hash == hash_token(token))
    )).first()
    if (row is None or row.revoked_at is not None or row.expires_at <= now
            or row.uses >= row.max_uses):
        raise CommandRejected("not_found", SPENT)
    return {"list": {"id": row.list_id, "name": row.name}, "role": row.role,
            "invited_by": {"id": row.created_by, "username": row.username},
            "expires_at": row.expires_at}
