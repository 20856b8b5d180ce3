"""Lists and their members: the inbox made with each account, the wire's list object, and
membership reads (which lists a user belongs to, with which role; who belongs to a list)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import list_members, lists, users

INBOX_NAME = "Inbox"


def new_list_id() -> str:
    """A fresh list id."""
    return str(uuid.uuid4())


async def create_inbox(conn: AsyncConnection, user_id: str, now: str) -> str:
    """Make the user's inbox (they own it); returns its id. Called with the account."""
    list_id = new_list_id()
    await conn.execute(insert(lists).values(
        id=list_id, name=INBOX_NAME, inbox=True, owner_id=user_id, version=1, created_at=now,
        updated_at=now,
    ))
    await conn.execute(insert(list_members).values(
        list_id=list_id, user_id=user_id, role="owner", joined_at=now,
    ))
    return list_id


def list_to_wire(row: Any, members: Iterable[Any], role: str) -> dict[str, Any]:
    """A list row, its members (rows with user_id, username, role) and the reader's role as
    the wire's list object."""
    data = row if isinstance(row, dict) else row._mapping
    return {
        "id": data["id"],
        "name": data["name"],
        "inbox": bool(data["inbox"]),
        "role": role,
        "members": [member_to_wire(m) for m in members],
        "version": data["version"],
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    }


def member_to_wire(member: Any) -> dict[str, Any]:
    """One member as the wire shows it."""
    data = member if isinstance(member, dict) else member._mapping
    return {"user": {"id": data["user_id"], "username": data["username"]},
            "role": data["role"]}


_ROLE_ORDER = {"owner": 0, "editor": 1, "viewer": 2}


def _member_sort(member: Any) -> tuple[int, str]:
    data = member if isinstance(member, dict) else member._mapping
    return _ROLE_ORDER.get(data["role"], 3), data["username"]


def members_statement(listed: Any) -> Any:
    """The members (list_id, user_id, username, role) of the lists called ``lists``."""
    return (
        select(list_members.c.list_id, list_members.c.user_id, users.c.username,
               list_members.c.role)
        .join(users, users.c.id == list_members.c.user_id)
        .where(listed(list_members.c.list_id, "lists"))
    )


_MEMBERS = members_statement(lambda column, name: column.in_(bindparam(name, expanding=True)))


def members_by_list(list_ids: Iterable[str], rows: Iterable[Any]) -> dict[str, list[Any]]:
    """Rows of ``members_statement`` as the members of each list, owner first then by name."""
    found: dict[str, list[Any]] = {list_id: [] for list_id in list_ids}
    for row in rows:
        found[row.list_id].append({"user_id": row.user_id, "username": row.username,
                                   "role": row.role})
    for members in found.values():
        members.sort(key=_member_sort)
    return found


async def members_of(conn: AsyncConnection, list_ids: Iterable[str]) -> dict[str, list[Any]]:
    """The members of each list (user_id, username, role), owner first then by name."""
    ids = sorted(set(list_ids))
    if not ids:
        return {}
    return members_by_list(ids, await conn.execute(_MEMBERS, {"lists": ids}))


async def roles_of(conn: AsyncConnection, user_id: str) -> dict[str, str]:
    """Every list the user belongs to, with their role."""
    rows = await conn.execute(
        select(list_members.c.list_id, list_members.c.role)
        .where(list_members.c.user_id == user_id)
    )
    return {row.list_id: row.role for row in rows}


async def role_in(conn: AsyncConnection, user_id: str, list_id: str) -> str | None:
    """The user's role in the list, or None when they are not a member (or it is missing)."""
    return (await conn.execute(
        select(list_members.c.role).where(list_members.c.user_id == user_id,
                                          list_members.c.list_id == list_id)
    )).scalar()


async def inbox_of(conn: AsyncConnection, user_id: str) -> str:
    """The id of the user's inbox."""
    return str((await conn.execute(
        select(lists.c.id).where(lists.c.owner_id == user_id, lists.c.inbox)
    )).scalar_one())


def lists_to_wire(rows: Iterable[Any], roles: dict[str, str],
                  members: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """List rows of one reader (their ``roles``) as the wire shows them: the inbox first,
    then by name."""
    ordered = sorted(rows, key=lambda row: (not row.inbox, row.name.lower(), row.id))
    return [list_to_wire(row, members[row.id], roles[row.id]) for row in ordered]


async def user_lists(conn: AsyncConnection, user_id: str) -> list[dict[str, Any]]:
    """The user's lists as the wire shows them: the inbox first, then by name."""
    roles = await roles_of(conn, user_id)
    if not roles:
        return []
    rows = (await conn.execute(select(lists).where(lists.c.id.in_(sorted(roles))))).all()
    return lists_to_wire(rows, roles, await members_of(conn, roles))


async def get_list(conn: AsyncConnection, user_id: str, list_id: str) -> dict[str, Any] | None:
    """One list of the user, or None (also when they are not a member)."""
    role = await role_in(conn, user_id, list_id)
    if role is None:
        return None
    row = (await conn.execute(select(lists).where(lists.c.id == list_id))).one()
    members = await members_of(conn, [list_id])
    return list_to_wire(row, members[list_id], role)


async def owned_count(conn: AsyncConnection, user_id: str) -> int:
    """How many lists the user owns, the inbox not counted."""
    return int((await conn.execute(
        select(func.count()).select_from(lists)
        .where(lists.c.owner_id == user_id, lists.c.inbox.is_(False))
    )).scalar_one())
