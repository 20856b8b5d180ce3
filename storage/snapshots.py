"""Snapshots: a user's whole state at one seq, their lists and the todos of those lists.

One read plan (storage.plans) gives the snapshots of many users at once, in four
statements whatever their number: the todos and the roles of every reader, then the lists
and their members. ``snapshot`` is the same plan for one user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import plans
from storage.lists import lists_to_wire, members_by_list, members_statement
from storage.models import list_members, lists, todos, users
from storage.plans import Plan, Query
from storage.todos import todo_to_wire


@dataclass(frozen=True)
class Snapshot:
    """A user's whole state at one seq: their lists and the todos of those lists."""

    seq: int
    lists: list[dict[str, Any]]
    todos: list[dict[str, Any]]


class Statements(NamedTuple):
    """The snapshot reads for one way of passing lists (see storage.statements)."""

    todos: Any
    roles: Any
    lists: Any
    members: Any


def statements(listed: Any) -> Statements:
    """The reads of ``snapshots``: the todos of every list each reader (``readers``) belongs
    to, in manual order; the readers' roles; the lists (``lists``) and their members."""
    return Statements(
        select(list_members.c.user_id.label("reader"), *todos.c)
        .join(list_members, list_members.c.list_id == todos.c.list_id)
        .where(listed(list_members.c.user_id, "readers"))
        .order_by(list_members.c.user_id, todos.c.order, todos.c.id),
        select(list_members.c.user_id, list_members.c.list_id, list_members.c.role)
        .where(listed(list_members.c.user_id, "readers")),
        select(lists).where(listed(lists.c.id, "lists")),
        members_statement(listed),
    )


def snapshots(seqs: Mapping[str, int], st: Statements) -> Plan[dict[str, Snapshot]]:
    """The snapshot of each user of ``seqs`` (user id -> seq read in the same transaction)."""
    readers = sorted(seqs)
    if not readers:
        return {}
    todo_rows, role_rows = yield [Query(st.todos, {"readers": readers}),
                                  Query(st.roles, {"readers": readers})]
    roles: dict[str, dict[str, str]] = {reader: {} for reader in readers}
    for row in role_rows:
        roles[row.user_id][row.list_id] = row.role
    list_ids = sorted({list_id for found in roles.values() for list_id in found})
    list_rows, member_rows = (
        (yield [Query(st.lists, {"lists": list_ids}), Query(st.members, {"lists": list_ids})])
        if list_ids else ([], []))
    members = members_by_list(list_ids, member_rows)
    by_id = {row.id: row for row in list_rows}
    found: dict[str, list[dict[str, Any]]] = {reader: [] for reader in readers}
    for row in todo_rows:
        found[row.reader].append(todo_to_wire(row))
    return {reader: Snapshot(seqs[reader], _lists(roles[reader], by_id, members),
                             found[reader])
            for reader in readers}


def _lists(roles: dict[str, str], by_id: Mapping[str, Any],
           members: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: Iterable[Any] = [by_id[list_id] for list_id in roles if list_id in by_id]
    return lists_to_wire(rows, roles, members)


_PLAIN = statements(lambda column, name: column.in_(bindparam(name, expanding=True)))


async def snapshot(conn: AsyncConnection, user_id: str) -> Snapshot:
    """The user's seq, lists and the todos of every list they belong to, in manual order
    (call in a consistent read)."""
    seq = (await conn.execute(select(users.c.seq).where(users.c.id == user_id))).scalar_one()
    return (await plans.run(conn, snapshots({user_id: seq}, _PLAIN)))[user_id]
