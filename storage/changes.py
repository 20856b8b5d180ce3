"""Reading the change log back (for catch-up, gap fill and long-poll) and pruning it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.clock import format_time
from storage.models import changes, operations, users


def in_log(since: int, pruned: int) -> bool:
    """Whether every change after ``since`` is still in the log (``pruned``: the highest
    seq no longer kept)."""
    return since >= pruned


def replayable(since: int | None, seq: int, pruned: int) -> bool:
    """Whether a device at ``since`` is brought up to ``seq`` from the log: its since is
    within the log and not past the head; otherwise it takes a snapshot."""
    return since is not None and in_log(since, pruned) and since <= seq


def positions_statement(listed: Any) -> Any:
    """The seq and pruned seq (id, seq, pruned_seq) of the users called ``users``."""
    return select(users.c.id, users.c.seq, users.c.pruned_seq).where(listed(users.c.id, "users"))


# Change frames of ``user_id`` with ``after < seq <= upto``, in order, at most ``limit``.
FRAMES = (
    select(changes.c.seq, changes.c.frame)
    .where(changes.c.user_id == bindparam("user_id"), changes.c.seq > bindparam("after"),
           changes.c.seq <= bindparam("upto"))
    .order_by(changes.c.seq)
    .limit(bindparam("limit"))
)


async def log_position(conn: AsyncConnection, user_id: str) -> tuple[int, int]:
    """The user's current seq and the highest seq no longer in the log."""
    row = (
        await conn.execute(select(users.c.seq, users.c.pruned_seq).where(users.c.id == user_id))
    ).one()
    return row.seq, row.pruned_seq


async def frames_between(
    conn: AsyncConnection, user_id: str, after: int, upto: int, limit: int
) -> list[tuple[int, str]]:
    """Change frames with ``after < seq <= upto``, in order, at most ``limit``."""
    rows = await conn.execute(FRAMES, {"user_id": user_id, "after": after, "upto": upto,
                                       "limit": limit})
    return [(row.seq, row.frame) for row in rows]


async def prune(conn: AsyncConnection, keep_days: int, keep_count: int) -> int:
    """Remove changes older than ``keep_days`` beyond each user's newest ``keep_count``, and
    the operation ids of the same age; record each user's pruned seq. Returns rows removed."""
    cutoff = format_time(datetime.now(UTC) - timedelta(days=keep_days))
    candidates = await conn.execute(
        select(changes.c.user_id, func.max(changes.c.seq).label("upto"))
        .join(users, users.c.id == changes.c.user_id)
        .where(changes.c.at < cutoff, changes.c.seq <= users.c.seq - keep_count)
        .group_by(changes.c.user_id)
    )
    removed = 0
    for user_id, upto in candidates.all():
        result = await conn.execute(
            delete(changes).where(and_(changes.c.user_id == user_id, changes.c.seq <= upto))
        )
        removed += result.rowcount or 0
        await conn.execute(update(users).where(users.c.id == user_id).values(pruned_seq=upto))
    await conn.execute(delete(operations).where(operations.c.created_at < cutoff))
    return removed
