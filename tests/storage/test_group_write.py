"""The group writer gives exactly the answers, frames and rows of applying each command alone."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

import storage.commands as commands
import storage.todo_rules as todo_rules
from storage.engine import Database
from storage.errors import CommandRejected
from storage.lists import create_inbox
from storage.migrate import upgrade
from storage.models import changes, operations, todos, users
from storage.types import Command, parse_op

USERS = ["u1", "u2"]
GENERATED = 1 << 100  # ids the patched new_todo_id makes; random client ids never collide


def _random_op(rng: random.Random, known: list[str]) -> dict[str, Any]:
    kind = rng.choice(["create", "create", "update", "update", "delete"])
    fresh = str(uuid.UUID(int=rng.getrandbits(128)))
    target = rng.choice(known) if rng.random() < 0.85 else fresh
    if kind == "create":
        todo: dict[str, Any] = {"title": f"t{rng.randrange(1000)}"}
        if rng.random() < 0.5:
            # Client-made ids come from the last few known ones, never from the generated range.
            todo["id"] = rng.choice(known[-4:]) if rng.random() < 0.5 else fresh
        if rng.random() < 0.5:
            todo["order"] = rng.choice([1, 2.5, 10])
        if rng.random() < 0.3:
            todo["completed"] = True
        if rng.random() < 0.3:
            todo["tags"] = rng.sample(["a", "b", "c"], 2)
        return {"type": "create", "todo": todo}
    if kind == "update":
        patch: dict[str, Any] = rng.choice([
            {"title": "renamed"}, {"completed": True}, {"completed": False},
            {"status": "in_progress"}, {"order": rng.choice([0, 5])}, {"priority": "high"},
            {"description": None}, {"tags": ["x"]},
        ])
        op: dict[str, Any] = {"type": "update", "todo_id": target, "patch": patch}
        if rng.random() < 0.3:
            op["if_version"] = rng.choice([1, 2, 3])
        return op
    return {"type": "delete", "todo_id": target}


def _commands(seed: int, count: int) -> list[tuple[str, Command, str]]:
    rng = random.Random(seed)
    # Ids the hub will generate (see the patched new_todo_id) and a few client-made ones.
    known = [str(uuid.UUID(int=GENERATED + i)) for i in range(15)]
    known += [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(4)]
    items = []
    used_ids: list[str] = []
    for n in range(count):
        user = rng.choice(USERS)
        if used_ids and rng.random() < 0.1:
            op_id: str | None = rng.choice(used_ids)
        else:
            op_id = None if rng.random() < 0.1 else f"op-{n}"
            if op_id:
                used_ids.append(op_id)
        if rng.random() < 0.2:
            ops = [parse_op(_random_op(rng, known)) for _ in range(rng.randint(1, 4))]
            items.append((user, Command(op_id, ops, batch=True), "dev"))
        else:
            items.append((user, Command(op_id, [parse_op(_random_op(rng, known))]), "dev"))
    return items


async def _database(path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    db = Database(url)
    inboxes = iter([str(uuid.UUID(int=n + 1)) for n in range(len(USERS))])
    monkeypatch.setattr("storage.lists.new_list_id", lambda: next(inboxes))
    async with db.write() as conn:
        for user in USERS:
            await conn.execute(insert(users).values(
                id=user, username=user, guest=False, seq=0, pruned_seq=0,
                created_at="2026-01-01T00:00:00.000Z"))
            await create_inbox(conn, user, "2026-01-01T00:00:00.000Z")
    return db


def _summary(outcome: Any) -> Any:
    if isinstance(outcome, CommandRejected):
        return ("rejected", outcome.code, outcome.message, outcome.todo)
    return ("applied", outcome.answer, outcome.frames, outcome.duplicate)


async def _rows(db: Database) -> list[Any]:
    async with db.read() as conn:
        return [
            sorted(tuple(r) for r in await conn.execute(select(table)))
            for table in (users, todos, changes, operations)
        ]


@pytest.mark.parametrize("seed", range(8))
async def test_group_write_matches_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random mixes of creates, updates, deletes, batches and repeated op ids, written as
    groups, leave the same answers and rows as the same commands applied one at a time."""
    monkeypatch.setattr(commands, "utcnow", lambda: "2026-11-23T08:00:00.000Z")
    counter = iter(range(10**6))
    monkeypatch.setattr(todo_rules, "new_todo_id",
                        lambda: str(uuid.UUID(int=GENERATED + next(counter))))
    items = _commands(seed, 60)
    single = await _database(tmp_path / "single.db", monkeypatch)
    grouped = await _database(tmp_path / "grouped.db", monkeypatch)
    try:
        expected = []
        for user, command, device in items:
            try:
                async with single.write() as conn:
                    expected.append(await commands.apply(conn, user, command, device))
            except CommandRejected as exc:
                expected.append(exc)
        counter = iter(range(10**6))
        got: list[Any] = []
        rng = random.Random(seed)
        start = 0
        while start < len(items):
            size = rng.randint(1, 12)
            got += await commands.write_group(grouped, items[start:start + size])
            start += size
        assert [_summary(o) for o in got] == [_summary(o) for o in expected]
        assert await _rows(grouped) == await _rows(single)
    finally:
        await single.dispose()
        await grouped.dispose()
