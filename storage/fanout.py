"""One command's transaction state: the user rows it holds locked (and their seqs), the
changes it emits into members' streams, and writing those out as change-log rows.

A change to a list or to a todo in it is emitted once for every member of the list; each
member's copy gets the next seq of that member's own stream. User rows are locked in id
order (PostgreSQL row locks), so two writers whose lists share members never deadlock, and
a list's membership is read only once its members are locked: whoever changes membership
locks the same rows, so it cannot change under a writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.frames import change_frame, list_frame
from storage.models import changes, list_members, users
from storage.types import Change, Limits


@dataclass
class Emit:
    """One change for one member's stream, before it has a seq."""

    user_id: str
    op: str
    subject: str  # the todo's id, or the list's
    body: dict[str, Any]
    seq: int = 0


@dataclass
class Tx:
    """What one command has locked, read and emitted so far."""

    conn: AsyncConnection
    actor: str
    device: str
    op_id: str | None
    now: str
    limits: Limits
    seqs: dict[str, int] = field(default_factory=dict)
    emits: list[Emit] = field(default_factory=list)

    async def lock(self, user_ids: Iterable[str]) -> None:
        """Lock the rows of these users (those not held yet), in id order, and read their
        seqs."""
        wanted = sorted(set(user_ids) - set(self.seqs))
        if not wanted:
            return
        rows = await self.conn.execute(
            select(users.c.id, users.c.seq).where(users.c.id.in_(wanted))
            .order_by(users.c.id).with_for_update()
        )
        for user_id, seq in rows:
            self.seqs[user_id] = seq

    async def members(self, list_id: str) -> dict[str, str]:
        """The members of a list and their roles, read with every member locked ({} for a
        missing list)."""
        while True:
            rows = await self.conn.execute(
                select(list_members.c.user_id, list_members.c.role)
                .where(list_members.c.list_id == list_id)
            )
            found = {row.user_id: row.role for row in rows}
            if set(found) <= set(self.seqs):
                return found
            # Only when membership changed between the group's first read and its locks.
            await self.lock(found)

    def emit(self, user_id: str, op: str, subject: str, body: dict[str, Any]) -> Emit:
        """Queue a change for one member's stream."""
        item = Emit(user_id, op, subject, body)
        self.emits.append(item)
        return item

    def first_for_actor(self, start: int) -> Emit | None:
        """The actor's first change emitted at or after index ``start``."""
        for item in self.emits[start:]:
            if item.user_id == self.actor:
                return item
        return None

    async def write(self) -> list[Change]:
        """Give each emitted change its member's next seq, write the change rows and the
        seqs; returns the changes to publish."""
        rows: list[dict[str, Any]] = []
        published: list[Change] = []
        touched: list[str] = []
        for item in self.emits:
            if item.user_id not in self.seqs:
                await self.lock([item.user_id])
            seq = self.seqs[item.user_id] + 1
            self.seqs[item.user_id] = item.seq = seq
            if item.user_id not in touched:
                touched.append(item.user_id)
            if "todo" in item.body:
                frame = change_frame(seq, item.op, item.body["todo"], self.device, self.op_id,
                                     self.now)
            else:
                frame = list_frame(seq, item.op, item.body, self.device, self.op_id, self.now)
            rows.append({"user_id": item.user_id, "seq": seq, "op": item.op,
                         "todo_id": item.subject, "frame": frame, "at": self.now})
            published.append(Change(item.user_id, seq, frame))
        if rows:
            await self.conn.execute(
                update(users).where(users.c.id == bindparam("k_user"))
                .values(seq=bindparam("k_seq")),
                [{"k_user": user_id, "k_seq": self.seqs[user_id]} for user_id in touched],
            )
            await self.conn.execute(insert(changes), rows)
        return published
