"""Creating, finding and upgrading users."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import utcnow
from storage.lists import create_inbox
from storage.models import (
    changes,
    list_members,
    lists,
    operations,
    refresh_tokens,
    sessions,
    todos,
    users,
)


class UsernameTaken(Exception):
    """The username or email belongs to another user."""


@dataclass(frozen=True)
class UserRecord:
    """A user as the rest of the hub sees it."""

    id: str
    username: str
    email: str | None
    password_hash: str | None
    guest: bool
    created_at: str

    def public(self) -> dict[str, Any]:
        """The wire's user object (no password hash)."""
        return {
            "id": self.id, "username": self.username, "email": self.email, "guest": self.guest,
            "created_at": self.created_at,
        }


_FIELDS = (users.c.id, users.c.username, users.c.email, users.c.password_hash, users.c.guest,
           users.c.created_at)


def _record(row: Any) -> UserRecord:
    return UserRecord(row.id, row.username, row.email, row.password_hash, bool(row.guest),
                      row.created_at)


async def create_user(
    conn: AsyncConnection, username: str, password_hash: str | None, email: str | None = None,
    guest: bool = False,
) -> UserRecord:
    """Insert a user and their inbox; raises UsernameTaken when the username or email is in
    use."""
    record = UserRecord(str(uuid.uuid4()), username, email, password_hash, guest, utcnow())
    if await _taken(conn, username, email, None):
        raise UsernameTaken(username)
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(users).values(
                    id=record.id, username=username, email=email, password_hash=password_hash,
                    guest=guest, seq=0, pruned_seq=0, created_at=record.created_at,
                )
            )
            await create_inbox(conn, record.id, record.created_at)
    except IntegrityError:
        raise UsernameTaken(username) from None
    return record


async def _taken(
    conn: AsyncConnection, username: str, email: str | None, except_id: str | None
) -> bool:
    names = [func.lower(users.c.username) == username.lower()]
    if email:
        names.append(func.lower(users.c.email) == email.lower())
        names.append(func.lower(users.c.username) == email.lower())
    query = select(users.c.id).where(or_(*names))
    if except_id is not None:
        query = query.where(users.c.id != except_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def upgrade_guest(
    conn: AsyncConnection, user_id: str, username: str, password_hash: str, email: str | None
) -> UserRecord:
    """Give a guest a username and password, keeping everything else."""
    if await _taken(conn, username, email, user_id):
        raise UsernameTaken(username)
    try:
        async with conn.begin_nested():
            await conn.execute(
                update(users).where(users.c.id == user_id).values(
                    username=username, email=email, password_hash=password_hash, guest=False
                )
            )
    except IntegrityError:
        raise UsernameTaken(username) from None
    found = await get_user(conn, user_id)
    assert found is not None
    return found


async def get_user(conn: AsyncConnection, user_id: str) -> UserRecord | None:
    """The user with this id, or None."""
    row = (await conn.execute(select(*_FIELDS).where(users.c.id == user_id))).first()
    return _record(row) if row is not None else None


@dataclass(frozen=True)
class SessionOwner:
    """A session as a token check needs it: its user, whether it is revoked, and that user's
    record (None when the user no longer exists)."""

    user_id: str
    revoked: bool
    user: UserRecord | None


def owners_statement(listed: Any) -> Any:
    """The sessions called ``sessions`` with their owners and those users' fields."""
    return (
        select(sessions.c.id.label("session_id"), sessions.c.user_id.label("owner"),
               sessions.c.revoked_at, *_FIELDS)
        .select_from(sessions.outerjoin(users, users.c.id == sessions.c.user_id))
        .where(listed(sessions.c.id, "sessions"))
    )


_OWNERS = owners_statement(lambda column, name: column.in_(bindparam(name, expanding=True)))


def owners_by_session(rows: Iterable[Any]) -> dict[str, SessionOwner]:
    """Rows of ``owners_statement`` by session id."""
    return {row.session_id: SessionOwner(row.owner, row.revoked_at is not None,
                                         _record(row) if row.id is not None else None)
            for row in rows}


async def session_owners(conn: AsyncConnection,
                         session_ids: Collection[str]) -> dict[str, SessionOwner]:
    """The sessions with these ids that exist, by id, each with its user's record: one
    statement for many token checks."""
    if not session_ids:
        return {}
    return owners_by_session(await conn.execute(_OWNERS, {"sessions": list(session_ids)}))


async def find_login(conn: AsyncConnection, name: str) -> UserRecord | None:
    """The user whose username or email is ``name`` (case-insensitive), or None."""
    lowered = name.lower()
    row = (
        await conn.execute(
            select(*_FIELDS).where(
                or_(func.lower(users.c.username) == lowered, func.lower(users.c.email) == lowered)
            ).limit(1)
        )
    ).first()
    return _record(row) if row is not None else None


async def delete_user(conn: AsyncConnection, user_id: str) -> bool:
    """Delete the user and every row of theirs (their inbox and its todos, memberships,
    change log, operation ids, sessions, refresh tokens); False when there is no such user.
    Call storage.list_commands.leave_every_list first, in the same transaction, so that
    the members of their shared lists are told.

    The user's row is locked first, as every write of theirs does, so a command in flight
    either commits before or finds no user. Tables added later that reference users need
    ``ON DELETE CASCADE`` (the users row goes last).
    """
    locked = await conn.execute(select(users.c.id).where(users.c.id == user_id)
                                .with_for_update())
    if locked.first() is None:
        return False
    for table in (refresh_tokens, sessions, operations, changes, list_members):
        await conn.execute(delete(table).where(table.c.user_id == user_id))
    # What is left of the user's lists (their inbox, once storage.list_commands
    # .leave_every_list has dealt with the shared ones), with its todos.
    owned = select(lists.c.id).where(lists.c.owner_id == user_id)
    await conn.execute(delete(todos).where(todos.c.list_id.in_(owned)))
    await conn.execute(delete(lists).where(lists.c.owner_id == user_id))
    await conn.execute(delete(users).where(users.c.id == user_id))
    return True
