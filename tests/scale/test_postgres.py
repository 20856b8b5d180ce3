"""Storage on PostgreSQL: migrations from several processes at once, and the user row lock
that keeps one user's seqs unique and consecutive with concurrent writers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.drivers.core import apply
from storage.engine import Database
from storage.migrate import current_revision, upgrade
from storage.models import changes, users
from storage.types import Command, parse_op
from storage.users import create_user
from tests.conftest import skip_or_fail
from tests.services import create_database, database_url, drop_database, postgres_problem

HEAD = "0004_lists"


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """The URL of a database of its own with no tables, dropped after the test."""
    problem = await postgres_problem()
    if problem is not None:
        skip_or_fail(problem)
    name = await create_database()
    try:
        yield database_url(name)
    finally:
        await drop_database(name)


async def test_processes_migrating_at_once_all_succeed(empty_database: str) -> None:
    """Four upgrades started together on an empty database (as four hub processes starting
    at the same moment) all succeed and leave it at head."""
    await asyncio.gather(*(upgrade(empty_database) for _ in range(4)))
    assert await current_revision(empty_database) == HEAD


async def test_user_row_lock_keeps_seqs_consecutive(empty_database: str) -> None:
    """Two writers (own pools, as two processes) apply 2 x 40 commands for one user at once,
    each holding its transaction open a moment: seqs are 1..80, each once, nothing lost."""
    await upgrade(empty_database)
    setup = Database(empty_database)
    writers = [Database(empty_database, pool_size=2, max_overflow=0) for _ in range(2)]
    try:
        async with setup.write() as conn:
            user = await create_user(conn, f"u-{uuid.uuid4().hex[:8]}", None)

        async def write(db: Database, tag: str) -> list[int]:
            seqs: list[int] = []
            for n in range(40):
                op = parse_op({"type": "create", "todo": {"title": f"{tag}-{n}"}})
                async with db.write() as conn:
                    applied = await apply(conn, user.id, Command(f"{tag}-{n}", [op]), tag)
                    await asyncio.sleep(0.001)  # let the other writer queue on the lock
                seqs.extend(change.seq for change in applied.changes)
            return seqs

        first, second = await asyncio.gather(write(writers[0], "a"), write(writers[1], "b"))
        assert sorted(first + second) == list(range(1, 81))
        assert first == sorted(first) and second == sorted(second)
        async with setup.read() as conn:
            logged = (await conn.execute(
                select(changes.c.seq).where(changes.c.user_id == user.id)
                .order_by(changes.c.seq))).scalars().all()
            seq = (await conn.execute(select(users.c.seq).where(users.c.id == user.id))).scalar()
        assert list(logged) == list(range(1, 81)) and seq == 80
    finally:
        for db in (setup, *writers):
            await db.dispose()
