"""Every way a command reaches the database gives the same outcome: each driver's fast path
(storage.drivers.sqlite, storage.drivers.postgres, through GroupWriter kept across groups as
the hub's writer keeps it) against the plain SQLAlchemy path (storage.drivers.core) on the
same groups, and against the same commands written one at a time (a group of one each, as
``apply`` does), on SQLite and on PostgreSQL.

Random mixes of creates (with and without client ids and orders, so that a create's top
order follows deletes and order changes earlier in its group), updates with and without
``if_version``, deletes, batches, stale versions, missing todos, repeated operation ids (as
the same request, and with another request's fingerprint), several users and a user that
does not exist, todos in each user's inbox and in a list shared by three of them (an owner,
an editor and a viewer, whose writes are refused), moves between lists, in random groups,
with the same clock and the
same new ids each way: every answer, change (recipient, seq, frame), error and every row of
every table must be equal.
"""

from __future__ import annotations

import itertools
import random
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from storage.drivers.core import apply_group
from storage.engine import Database
from storage.errors import CommandRejected
from storage.migrate import upgrade
from storage.models import changes, list_members, lists, operations, todos, users
from storage.rules import Item, Outcome
from storage.types import Command, CreateOp, DeleteOp, Op, TodoIn, TodoPatch, UpdateOp
from storage.writer import GroupWriter
from tests.conftest import skip_or_fail
from tests.services import create_database, database_url, drop_database, postgres_problem

USERS = [str(uuid.UUID(int=n + 1)) for n in range(4)]
GHOST = str(uuid.UUID(int=999))
INBOXES = {user: str(uuid.UUID(int=5000 + n)) for n, user in enumerate(USERS)}
SHARED = str(uuid.UUID(int=6000))
SHARED_ROLES = {USERS[0]: "owner", USERS[1]: "editor", USERS[2]: "viewer"}
Way = Callable[[Database, list[list[Item]], Any, Any], Awaitable[list[Outcome]]]


def _commands(rng: random.Random, count: int, order_share: float) -> list[Item]:
    known: dict[str, list[str]] = {user: [] for user in [*USERS, GHOST]}
    used: dict[str, list[str]] = {user: [] for user in USERS}

    def todo_id(user: str) -> str:
        if known[user] and rng.random() < 0.8:
            return rng.choice(known[user])
        return str(uuid.UUID(int=rng.randrange(1, 40)))

    def op(user: str) -> Op:
        roll = rng.random()
        if roll < 0.4:
            fields: dict[str, Any] = {"title": f"t{rng.randrange(100)}"}
            if rng.random() < 0.3:
                fields["id"] = str(uuid.UUID(int=rng.randrange(1, 40)))
                known[user].append(fields["id"])
            if rng.random() < order_share:
                fields["order"] = rng.choice([0, 1.5, -3, 7, 100])
            if rng.random() < 0.3:
                fields["completed"] = rng.random() < 0.5
            if rng.random() < 0.3:
                fields["tags"] = ["A", "b", "a"]
            if rng.random() < 0.3:
                fields["list_id"] = SHARED
            return CreateOp(type="create", todo=TodoIn(**fields))
        if roll < 0.75:
            patch: dict[str, Any] = {}
            if rng.random() < 0.5:
                patch["title"] = f"u{rng.randrange(100)}"
            if rng.random() < 0.3:
                patch["completed"] = rng.random() < 0.5
            elif rng.random() < 0.2:
                patch["status"] = rng.choice(["in_progress", "cancelled"])
            if rng.random() < 0.3:
                patch["order"] = rng.choice([0, 2.5, 50, 1000])
            if rng.random() < 0.2:
                patch["tags"] = ["x"]
            if rng.random() < 0.15:
                patch["list_id"] = rng.choice([SHARED, INBOXES.get(user, SHARED)])
            return UpdateOp(type="update", todo_id=todo_id(user), patch=TodoPatch(**patch),
                            if_version=rng.choice([None, None, 1, 2, 3]))
        return DeleteOp(type="delete", todo_id=todo_id(user),
                        if_version=rng.choice([None, None, 1, 2]))

    items: list[Item] = []
    for n in range(count):
        user = GHOST if rng.random() < 0.02 else rng.choice(USERS)
        op_id: str | None
        if user != GHOST and used[user] and rng.random() < 0.1:
            op_id = rng.choice(used[user])  # a retry
        elif rng.random() < 0.1:
            op_id = None
        else:
            op_id = f"op{n}"
            if user != GHOST:
                used[user].append(op_id)
        # A REST request's fingerprint, from two, so that some retries are another request.
        fingerprint = rng.choice([None, "f1", "f2"])
        if rng.random() < 0.2:
            command = Command(op_id, [op(user) for _ in range(rng.randrange(1, 4))],
                              batch=True, fingerprint=fingerprint)
        else:
            command = Command(op_id, [op(user)], fingerprint=fingerprint)
        items.append((user, command, rng.choice(["d0", "d1"])))
    return items


def _groups(rng: random.Random, items: list[Item]) -> list[list[Item]]:
    groups, start = [], 0
    while start < len(items):
        size = rng.choice([1, 2, 5, 10, 30])
        # The dispatcher hands a group over sorted by user, stably.
        groups.append(sorted(items[start:start + size], key=lambda item: item[0]))
        start += size
    return groups


def _outcome(outcome: Outcome) -> tuple[Any, ...]:
    if isinstance(outcome, CommandRejected):
        return ("rejected", outcome.code, outcome.message, outcome.details, outcome.todo)
    return ("applied", outcome.answer, outcome.changes, outcome.duplicate)


async def _fast(db: Database, groups: list[list[Item]], clock: Any, new_id: Any
                ) -> list[Outcome]:
    writer = GroupWriter(db, clock, new_id)
    done: list[Outcome] = []
    try:
        for group in groups:
            done += await writer.write(group)
    finally:
        await writer.close()
    return done


async def _plain(db: Database, groups: list[list[Item]], clock: Any, new_id: Any
                 ) -> list[Outcome]:
    done: list[Outcome] = []
    for group in groups:
        async with db.write() as conn:
            done += await apply_group(conn, group, clock, new_id)
    return done


async def _one_by_one(db: Database, groups: list[list[Item]], clock: Any, new_id: Any
                      ) -> list[Outcome]:
    return await _plain(db, [[item] for group in groups for item in group], clock, new_id)


async def _write_all(url: str, groups: list[list[Item]], way: Way,
                     on_loop: bool = True) -> tuple[Any, Any]:
    new_ids = (str(uuid.UUID(int=10_000 + n)) for n in itertools.count())
    clock = (f"2026-01-01T00:{n // 60000:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"
             for n in itertools.count())
    db = Database(url, on_loop=on_loop)
    try:
        async with db.write() as conn:
            await conn.execute(insert(users), [
                {"id": user, "username": f"n{n}", "seq": 0, "pruned_seq": 0,
                 "created_at": "2026-01-01T00:00:00.000Z", "guest": False}
                for n, user in enumerate(USERS)])
            await conn.execute(insert(lists), [
                {"id": list_id, "name": name, "inbox": inbox, "owner_id": owner,
                 "version": 1, "created_at": "2026-01-01T00:00:00.000Z",
                 "updated_at": "2026-01-01T00:00:00.000Z"}
                for list_id, name, inbox, owner in [
                    *[(INBOXES[u], "Inbox", True, u) for u in USERS],
                    (SHARED, "Shared", False, USERS[0])]])
            await conn.execute(insert(list_members), [
                {"list_id": list_id, "user_id": user, "role": role,
                 "joined_at": "2026-01-01T00:00:00.000Z"}
                for list_id, user, role in [
                    *[(INBOXES[u], u, "owner") for u in USERS],
                    *[(SHARED, u, r) for u, r in SHARED_ROLES.items()]]])
        outcomes = await way(db, groups, lambda: next(clock), lambda: next(new_ids))
        rows = []
        async with db.read() as conn:
            for table, key in ((todos, (todos.c.id,)),
                               (changes, (changes.c.user_id, changes.c.seq)),
                               (operations, (operations.c.user_id, operations.c.op_id)),
                               (users, (users.c.id,))):
                rows.append([tuple(r) for r in await conn.execute(select(table).order_by(*key))])
        return [_outcome(o) for o in outcomes], rows
    finally:
        await db.dispose()


async def _compare(fresh_url: Callable[[], Awaitable[str]], seeds: range,
                   sqlite: bool = False) -> None:
    for seed in seeds:
        rng = random.Random(seed)
        items = _commands(rng, 150, order_share=1.0 if seed % 3 == 1 else 0.4)
        groups = _groups(rng, items)
        fast = await _write_all(await fresh_url(), groups, _fast)
        plain = await _write_all(await fresh_url(), groups, _plain)
        single = await _write_all(await fresh_url(), groups, _one_by_one)
        # Groups of one: the fast paths' reads of a single user, todo and operation.
        fast_single = await _write_all(await fresh_url(),
                                       [[item] for group in groups for item in group], _fast)
        assert any(o[0] == "rejected" for o in plain[0]), f"seed {seed}: no refusal tried"
        assert fast[0] == plain[0], f"seed {seed}: fast and plain answers differ"
        assert fast[1] == plain[1], f"seed {seed}: fast and plain tables differ"
        if sqlite:  # the fast path in aiosqlite's thread, as with TODOHUB_SQLITE_ON_LOOP=0
            threaded = await _write_all(await fresh_url(), groups, _fast, on_loop=False)
            assert threaded == fast, f"seed {seed}: on the loop and in the thread differ"
        assert single[0] == plain[0], f"seed {seed}: one by one answers differ from groups"
        assert single[1] == plain[1], f"seed {seed}: one by one tables differ from groups"
        assert fast_single == single, f"seed {seed}: fast and plain differ one by one"


async def test_write_paths_agree_on_sqlite(tmp_path: Path) -> None:
    """The SQLite fast path (on the event loop, and in aiosqlite's thread) against
    SQLAlchemy's plain path."""
    template = tmp_path / "template.db"
    await upgrade(f"sqlite+aiosqlite:///{template}")
    count = itertools.count()

    async def fresh_url() -> str:
        path = tmp_path / f"db{next(count)}.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"

    await _compare(fresh_url, range(6), sqlite=True)


@pytest.mark.services
async def test_write_paths_agree_on_postgres() -> None:
    """asyncpg's fast path (locks, one read, one write of CTEs) against the plain path."""
    problem = await postgres_problem()
    if problem:
        skip_or_fail(problem)
    made: list[str] = []

    async def fresh_url() -> str:
        name = await create_database()
        made.append(name)
        url = database_url(name)
        await upgrade(url)
        return url

    try:
        await _compare(fresh_url, range(3))
    finally:
        for name in made:
            await drop_database(name)
