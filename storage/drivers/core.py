"""The plain path: a group through SQLAlchemy on an AsyncConnection the caller began, for
any database and driver; and ``apply``, one command as a group of one.

About nine statements per group: the five reads (expanded IN), then one executemany per
kind of write. The fast driver paths give exactly what this one gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage import rules, statements
from storage.clock import utcnow
from storage.errors import CommandRejected
from storage.todos import new_todo_id
from storage.types import Applied, Command


async def apply_group(conn: AsyncConnection, items: Sequence[rules.Item],
                      clock: rules.Clock = utcnow,
                      new_id: rules.NewId = new_todo_id) -> list[rules.Outcome]:
    """Apply each ``(user id, command, device)`` in order in the caller's transaction on
    ``conn``; each outcome is the command's Applied or the CommandRejected that refused it
    (and changed nothing)."""
    needs = rules.needs(items)
    values = statements.read_values(needs)
    results: list[Sequence[Any]] = []
    for statement, want in zip(
        statements.reads(lambda column, name: column.in_(values[name])),
        statements.wanted(needs), strict=True,
    ):
        results.append((await conn.execute(statement)).all() if want else [])
    outcomes, writes = rules.apply_group(items, statements.loaded(needs, *results), clock,
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
