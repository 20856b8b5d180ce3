"""Hellos read together get exactly what each gets read alone: the grouped read of many hellos
(storage.reader.read_hellos, one read transaction) against one read per hello, on SQLite's
driver path (one hand-off), SQLAlchemy's plain path and PostgreSQL; and against the
one-purpose reads it replaces (session_owners, log_position, frames_between, snapshot).

Users with an inbox and a list shared by three of them, todos and changes written through
the writer, one user's log pruned, sessions live, revoked and of another user, a user that
does not exist; hellos with since null, 0, inside the log, at the head, past the head and
before the pruned part, with replay pages of two so that a long replay is cut.
"""

from __future__ import annotations

import itertools
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update

from storage import hellos, plans
from storage.changes import frames_between, log_position, replayable
from storage.drivers.core import apply_group
from storage.engine import Database
from storage.hellos import HelloAsk, HelloState
from storage.migrate import upgrade
from storage.models import list_members, lists, sessions, users
from storage.reader import _PLAIN, read_hellos
from storage.snapshots import snapshot
from storage.types import Command, CreateOp, TodoIn
from storage.users import session_owners
from tests.conftest import skip_or_fail
from tests.services import create_database, database_url, drop_database, postgres_problem

USERS = [str(uuid.UUID(int=n + 1)) for n in range(5)]
GHOST = str(uuid.UUID(int=999))
SHARED = str(uuid.UUID(int=6000))
NOW = "2026-01-01T00:00:00.000Z"
PAGE = 2
PRUNED = (USERS[3], 4)  # this user's log starts after seq 4


async def _fill(db: Database) -> dict[str, list[str]]:
    """The rows above; returns each user's sessions (live, then revoked)."""
    async with db.write() as conn:
        await conn.execute(insert(users), [
            {"id": user, "username": f"n{n}", "seq": 0, "pruned_seq": 0, "created_at": NOW,
             "guest": False} for n, user in enumerate(USERS)])
        inboxes = {user: str(uuid.UUID(int=5000 + n)) for n, user in enumerate(USERS)}
        await conn.execute(insert(lists), [
            {"id": list_id, "name": name, "inbox": inbox, "owner_id": owner, "version": 1,
             "created_at": NOW, "updated_at": NOW}
            for list_id, name, inbox, owner in [
                *[(inboxes[u], "Inbox", True, u) for u in USERS],
                (SHARED, "Shared", False, USERS[0])]])
        await conn.execute(insert(list_members), [
            {"list_id": list_id, "user_id": user, "role": role, "joined_at": NOW}
            for list_id, user, role in [
                *[(inboxes[u], u, "owner") for u in USERS],
                (SHARED, USERS[0], "owner"), (SHARED, USERS[1], "editor"),
                (SHARED, USERS[2], "viewer")]])
        made: dict[str, list[str]] = {}
        for n, user in enumerate(USERS):
            made[user] = [str(uuid.UUID(int=7000 + 2 * n)), str(uuid.UUID(int=7001 + 2 * n))]
            await conn.execute(insert(sessions), [
                {"id": made[user][0], "user_id": user, "created_at": NOW},
                {"id": made[user][1], "user_id": user, "created_at": NOW, "revoked_at": NOW}])
    rng = random.Random(7)
    counter = itertools.count()
    for _ in range(6):
        items = []
        for user in USERS[:4]:
            for _ in range(rng.randrange(1, 4)):
                fields: dict[str, Any] = {"title": f"t{next(counter)}",
                                          "order": rng.choice([0, 1.5, -3, 7])}
                if user in (USERS[0], USERS[1]) and rng.random() < 0.5:
                    fields["list_id"] = SHARED
                items.append((user, Command(str(uuid.uuid4()),
                                            [CreateOp(type="create", todo=TodoIn(**fields))]),
                              "d"))
        async with db.write() as conn:
            await apply_group(conn, items)
    async with db.write() as conn:
        await conn.execute(update(users).where(users.c.id == PRUNED[0])
                           .values(pruned_seq=PRUNED[1]))
    return made


def _asks(made: dict[str, list[str]]) -> list[HelloAsk]:
    asks = []
    for user in [*USERS, GHOST]:
        live, revoked = made.get(user, [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))])
        for since in (None, 0, 1, 3, 5, 10_000, -1):
            asks.append(HelloAsk(user, since, live))
        asks.append(HelloAsk(user, 2, revoked))
        asks.append(HelloAsk(user, 2, made[USERS[0]][0] if user != USERS[0] else None))
    random.Random(3).shuffle(asks)
    return asks


async def _alone(db: Database, asks: list[HelloAsk]) -> list[HelloState]:
    return [(await read_hellos(db, [ask], PAGE))[0] for ask in asks]


async def _plain(db: Database, asks: list[HelloAsk]) -> list[HelloState]:
    async with db.read(consistent=True) as conn:
        return await plans.run(conn, hellos.hellos(asks, PAGE, _PLAIN))


async def _one_purpose(db: Database, ask: HelloAsk) -> HelloState:
    """What the reads a hello made before the grouped read give for ``ask``."""
    async with db.read(consistent=True) as conn:
        owners = await session_owners(conn, [ask.session_id] if ask.session_id else [])
        owner = owners.get(ask.session_id) if ask.session_id else None
        if ask.user_id not in USERS:
            return HelloState(owner, None, None, None)
        seq, pruned = await log_position(conn, ask.user_id)
        if replayable(ask.since, seq, pruned):
            assert ask.since is not None
            frames = await frames_between(conn, ask.user_id, ask.since, seq, PAGE)
            return HelloState(owner, (seq, pruned), frames, None)
        return HelloState(owner, (seq, pruned), None, await snapshot(conn, ask.user_id))


async def _compare(url: str) -> None:
    db = Database(url)
    threaded = Database(url, on_loop=False)
    try:
        asks = _asks(await _fill(db))
        together = await read_hellos(db, asks, PAGE)
        if db.is_sqlite:
            assert together == await read_hellos(threaded, asks, PAGE), \
                "on the loop and in aiosqlite's thread differ"
        assert together == await _alone(db, asks), "grouped and one at a time differ"
        assert together == await _plain(db, asks), "driver path and plain path differ"
        assert together == [await _one_purpose(db, ask) for ask in asks]
        states = dict(zip(asks, together, strict=True))
        shared = [s.snapshot for a, s in states.items() if a.user_id == USERS[2] and s.snapshot]
        assert shared and any(t["list_id"] == SHARED for t in shared[0].todos)
        cut = [s for a, s in states.items()
               if a.since == 0 and s.frames is not None and s.position and s.position[0] > PAGE]
        assert cut and all(len(s.frames or []) == PAGE for s in cut)
        assert all(s.snapshot is not None for a, s in states.items()
                   if a.user_id == PRUNED[0] and a.since is not None and 0 <= a.since < 4)
    finally:
        await db.dispose()
        await threaded.dispose()


async def test_hello_reads_agree_on_sqlite(tmp_path: Path) -> None:
    """The SQLite path (on the event loop and in aiosqlite's thread) against one read per
    hello, the plain path and old reads."""
    template = tmp_path / "template.db"
    await upgrade(f"sqlite+aiosqlite:///{template}")
    path = tmp_path / "db.db"
    shutil.copy(template, path)
    await _compare(f"sqlite+aiosqlite:///{path}")


@pytest.mark.services
async def test_hello_reads_agree_on_postgres() -> None:
    """PostgreSQL's grouped read against one read per hello and the old reads."""
    problem = await postgres_problem()
    if problem:
        skip_or_fail(problem)
    name = await create_database()
    try:
        url = database_url(name)
        await upgrade(url)
        await _compare(url)
    finally:
        await drop_database(name)
