"""The plain path: a group through SQLAlchemy on an AsyncConnection the caller began, for
any database and driver; and ``apply``, one command as a group of one.

About nine statements per group: the five reads (expanded IN), then one executemany per
kind of write. The fast driver paths give exactly what this one gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import rules, statements
from storage.clock import utcnow
from storage.errors import CommandRejected
from storage.todos import new_todo_id
from storage.types import Applied, Command


def _listed(column: Any, name: str) -> Any:
    return column.in_(bindparam(name, expanding=True))


_SCOPE_READS = statements.scope_reads(_listed)
_READS = statements.reads(_listed)


async def apply_group(conn: AsyncConnection, items: Sequence[rules.Item],
                      clock: rules.Clock = utcnow,
                      new_id: rules.NewId = new_todo_id) -> list[rules.Outcome]:
    """Apply each ``(user id, command, device)`` in order in the caller's transaction on
    ``conn``; each outcome is the command's Applied or the CommandRejected that refused it
    (and changed nothing)."""
    needs = rules.needs(items)
    values: dict[str, list[str]] = {"todo_ids": needs.todo_ids, "actors": needs.actors}

    async def fetch(statement: Any) -> Sequence[Any]:
        return (await conn.execute(statement, values)).all()

    todo_lists, memberships, members = _SCOPE_READS
    found = await fetch(todo_lists) if needs.todo_ids else []
    scope, values["lists"] = rules.involved_lists(needs, found, await fetch(memberships))
    needs = rules.scoped(needs, scope, await fetch(members) if values["lists"] else [])
    values.update(statements.read_values(needs))
    results: list[Sequence[Any]] = []
    for statement, want in zip(_READS, statements.wanted(needs), strict=True):
        results.append(await fetch(statement) if want else [])
    if values["lists"]:
        # Membership as it is now that the members are locked (it cannot change any more).
        rules.scoped(needs, scope, await fetch(members))
        rules.members_locked(scope, (row[0] for row in results[0]))
    outcomes, writes = rules.apply_group(items, statements.loaded(needs, scope, *results), clock,
                                         new_id)
    for kind, rows in statements.write_batches(writes):
        await conn.execute(statements.statement(kind), [kind.parameters(row) for row in rows])
    return outcomes


async def apply(conn: AsyncConnection, user_id: str, command: Command, device: str,
                now: str | None = None) -> Applied:
    """Apply ``command`` for ``user_id`` on ``conn`` (in the caller's transaction); raise
    CommandRejected, having changed nothing, when it is refused."""
    clock = utcnow if now is None else (lambda: now)
    (outcome,) = await apply_group(conn, [(user_id, command, device)], clock)
    if isinstance(outcome, CommandRejected):
        raise outcome
    return outcome
