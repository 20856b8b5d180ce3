"""Migration 0004_lists on a database holding users, todos and changes: every user gets an
inbox holding their todos, todo ids stay (a shared client-made id is given a fresh one and
its owner's devices take a snapshot), the change log is kept; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import Database, migration_engine
from storage.migrate import alembic_config, current_revision, upgrade
from storage.snapshots import snapshot
from tests.conftest import skip_or_fail
from tests.services import create_database, database_url, drop_database, postgres_problem

NOW = "2026-11-30T10:00:00.000Z"
SHARED = "00000000-0000-4000-8000-000000000001"


async def _upgrade_to(url: str, revision: str) -> None:
    engine = migration_engine(url)

    def run(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()


async def _fill(url: str) -> None:
    """Two users with todos (one id held by both) and changes, as revision 0002 keeps them."""
    db = Database(url)
    try:
        async with db.write() as conn:
            for user, seq in (("ann", 3), ("bob", 2)):
                await conn.execute(text(
                    "INSERT INTO users (id, username, guest, seq, pruned_seq, created_at) "
                    "VALUES (:id, :id, false, :seq, 0, :now)"), {"id": user, "seq": seq,
                                                                 "now": NOW})
            todos = [("ann", SHARED, "milk", 1.0, "2026-11-01T00:00:00.000Z"),
                     ("ann", "00000000-0000-4000-8000-000000000002", "eggs", 2.0, NOW),
                     ("ann", "00000000-0000-4000-8000-000000000003", "tea", 3.0, NOW),
                     ("bob", SHARED, "oats", 1.0, "2026-11-02T00:00:00.000Z"),
                     ("bob", "00000000-0000-4000-8000-000000000004", "jam", 2.0, NOW)]
            for user, todo_id, title, order, created in todos:
                await conn.execute(text(
                    'INSERT INTO todos (user_id, id, title, description, status, priority, '
                    'due_at, tags, "order", created_at, updated_at, completed_at, version) '
                    "VALUES (:u, :id, :t, NULL, 'pending', 'medium', NULL, '[]', :o, :c, :c, "
                    "NULL, 1)"), {"u": user, "id": todo_id, "t": title, "o": order,
                                  "c": created})
            for user, seq in (("ann", 1), ("ann", 2), ("ann", 3), ("bob", 1), ("bob", 2)):
                await conn.execute(text(
                    "INSERT INTO changes (user_id, seq, op, todo_id, frame, at) "
                    "VALUES (:u, :s, 'create', :t, '{}', :now)"),
                    {"u": user, "s": seq, "t": SHARED, "now": NOW})
    finally:
        await db.dispose()


async def _check(url: str) -> None:
    await _upgrade_to(url, "0003_access_tokens")
    await _fill(url)
    await upgrade(url)
    assert await current_revision(url) == "0004_lists"
    db = Database(url)
    try:
        async with db.read() as conn:
            inboxes = (await conn.execute(text(
                "SELECT l.owner_id, l.name, m.role FROM lists l JOIN list_members m "
                "ON m.list_id = l.id AND m.user_id = l.owner_id WHERE l.inbox "
                "ORDER BY l.owner_id"))).all()
            assert [tuple(row) for row in inboxes] == [("ann", "Inbox", "owner"),
                                                       ("bob", "Inbox", "owner")]
            assert (await conn.execute(text("SELECT COUNT(*) FROM changes"))).scalar() == 5
            seqs = dict(tuple(r) for r in (await conn.execute(text(
                "SELECT id, seq FROM users"))).all())
            pruned = dict(tuple(r) for r in (await conn.execute(text(
                "SELECT id, pruned_seq FROM users"))).all())
            # ann held the shared id first and keeps it; bob's todo got a fresh id, and his
            # devices (at seq 2 or before) get a snapshot rather than a replay.
            assert seqs == {"ann": 3, "bob": 3} and pruned == {"ann": 0, "bob": 3}
            ann = await snapshot(conn, "ann")
            bob = await snapshot(conn, "bob")
        assert [t["title"] for t in ann.todos] == ["milk", "eggs", "tea"]
        assert [t["title"] for t in bob.todos] == ["oats", "jam"]
        assert ann.todos[0]["id"] == SHARED and bob.todos[0]["id"] != SHARED
        assert bob.todos[1]["id"] == "00000000-0000-4000-8000-000000000004"
        assert {t["list_id"] for t in ann.todos} == {ann.lists[0]["id"]}
        assert all(t["assignee"] is None for t in ann.todos + bob.todos)
    finally:
        await db.dispose()


async def _on_postgres(check: Callable[[str], Awaitable[None]]) -> None:
    problem = await postgres_problem()
    if problem:
        skip_or_fail(problem)
    name = await create_database()
    try:
        await check(database_url(name))
    finally:
        await drop_database(name)


async def test_migration_on_sqlite_with_data(tmp_path: Path) -> None:
    """On SQLite, existing todos land in their owner's new inbox; the log is kept."""
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")


@pytest.mark.services
async def test_migration_on_postgres_with_data() -> None:
    """On PostgreSQL, the same."""
    await _on_postgres(_check)
