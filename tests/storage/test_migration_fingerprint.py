"""Migration 0003 on a database holding operations: the old ids keep answering as retries
(they have no request to compare with), new ones remember theirs, and it downgrades."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from storage.engine import Database, migration_engine
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import operations
from storage.types import Applied, Command, parse_op
from storage.writer import write_group


async def _migrate(url: str, target: str, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)
        connection.commit()

    engine = migration_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def test_fingerprint_migration_keeps_stored_operations(tmp_path: Path) -> None:
    """Upgrading a 0002 database with an operation keeps it; a fingerprinted request reusing
    its id gets its answer; a new fingerprinted id is refused with another request."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await _migrate(url, "0002")
    engine = migration_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO users (id, username, guest, seq, pruned_seq, created_at) "
            "VALUES ('u1', 'ann', 0, 1, 0, '2026-01-01T00:00:00.000Z')"))
        await conn.execute(text(
            "INSERT INTO operations (user_id, op_id, answer, seq, created_at) "
            "VALUES ('u1', 'old', :answer, 1, '2026-01-01T00:00:00.000Z')"),
            {"answer": '{"seq":1,"todo":{"id":"x"}}'})
    await engine.dispose()
    await upgrade(url)
    # At the head, past 0003_operation_fingerprint (later migrations follow it).
    assert await current_revision(url) == ScriptDirectory.from_config(
        alembic_config(url)).get_current_head()
    db = Database(url)
    try:
        create = [parse_op({"type": "create", "todo": {"title": "t"}})]
        old, new, reused = await write_group(db, [
            ("u1", Command("old", create, fingerprint="f1"), "rest"),
            ("u1", Command("new", create, fingerprint="f1"), "rest"),
            ("u1", Command("new", create, fingerprint="f2"), "rest"),
        ])
        assert isinstance(old, Applied) and old.duplicate
        assert old.answer == {"seq": 1, "todo": {"id": "x"}}
        assert isinstance(new, Applied) and not new.duplicate
        assert not isinstance(reused, Applied) and reused.code == "validation"
        async with db.read() as conn:
            rows = (await conn.execute(select(operations.c.op_id, operations.c.fingerprint)
                                       .order_by(operations.c.op_id))).all()
        assert [tuple(row) for row in rows] == [("new", "f1"), ("old", None)]
    finally:
        await db.dispose()
    await _migrate(url, "0002", down=True)
    assert await current_revision(url) == "0002"
