"""The writer never lets one command fail its neighbours: a command that makes the group's
write raise (whatever it raises) is found, answered alone, and the rest commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from hub.brokers.memory import MemoryBroker
from hub.dispatch import Dispatcher
from hub.errors import HubError
from hub.metrics import Metrics
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import todos, users
from storage.types import Applied, Command, CreateOp, TodoIn, parse_op

NEIGHBOURS = [f"user-{i}" for i in range(8)]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database with the neighbours and the culprit as users."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade(url)
    database = Database(url)
    async with database.write() as conn:
        for user in [*NEIGHBOURS, "culprit"]:
            await conn.execute(insert(users).values(
                id=user, username=user, guest=False, seq=0, pruned_seq=0,
                created_at="2026-01-01T00:00:00.000Z"))
    yield database
    await database.dispose()


def _create_skipping_validation(title: object) -> Command:
    """A create built without validation, so its title may be anything."""
    todo = TodoIn.model_construct(id=None, title=title, description=None, status="pending",
                                  completed=None, priority="medium", due_at=None, tags=[],
                                  order=None)
    return Command("bad", [CreateOp.model_construct(type="create", todo=todo)])


CULPRITS = {
    # Text the database driver cannot encode (UnicodeEncodeError in the driver).
    "lone surrogate": "a\ud800b",
    # A value the change frame cannot be encoded with (TypeError in the rules).
    "not JSON": b"bytes",
}


@pytest.mark.parametrize("culprit", CULPRITS.values(), ids=CULPRITS.keys())
async def test_a_command_that_breaks_the_writer_fails_alone(
    db: Database, culprit: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Among valid creates of eight other users in one group, the culprit answers internal
    (logged once, with its traceback) and every neighbour commits and gets its answer."""
    dispatcher = Dispatcher(db, MemoryBroker(), Metrics(), max_group=256)
    await dispatcher.start()
    try:
        futures: list[tuple[str, asyncio.Future[Applied]]] = []
        # Submitted without yielding to the loop, so the writer takes them as one group.
        for round_ in range(5):
            for user in NEIGHBOURS:
                command = Command(f"op-{round_}", [parse_op(
                    {"type": "create", "todo": {"title": f"{user} {round_}"}})])
                futures.append((user, dispatcher.submit(user, command, "dev")))
            if round_ == 2:
                bad = dispatcher.submit("culprit", _create_skipping_validation(culprit), "dev")
        with caplog.at_level(logging.WARNING, logger="todohub"):
            answers = await asyncio.wait_for(
                asyncio.gather(*(f for _, f in futures), return_exceptions=True), 30)
            with pytest.raises(HubError) as failed:
                await asyncio.wait_for(bad, 30)
        assert failed.value.code == "internal"
        assert all(isinstance(a, Applied) for a in answers), answers
        assert sorted(a.answer["seq"] for a in answers) == sorted(  # type: ignore[union-attr]
            [1, 2, 3, 4, 5] * len(NEIGHBOURS))
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert len(tracebacks) == 1, [r.getMessage() for r in caplog.records]
        assert "internal" in tracebacks[0].getMessage()
        async with db.read() as conn:
            rows = (await conn.execute(select(todos.c.user_id, todos.c.title))).all()
        assert sorted(rows) == sorted((user, f"{user} {r}") for r in range(5)
                                      for user in NEIGHBOURS)
    finally:
        await dispatcher.stop(1.0)
