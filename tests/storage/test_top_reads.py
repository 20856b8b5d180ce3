"""The write path's reads of a list's top order (storage.statements.reads, the last two)
give what a scan would: the highest order of each list asked, and of each keyed list the
highest outside the todos named, None for a list without such todos; in every form a driver
passes lists in (expanded IN, SQLite's json_each, PostgreSQL's arrays and the asyncpg path's
one union), on SQLite and PostgreSQL, with a list far longer than the others."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import statements
from storage.drivers import core, postgres, sqlite
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import lists, todos, users
from tests.conftest import skip_or_fail
from tests.services import create_database, database_url, drop_database, postgres_problem

NOW = "2026-01-01T00:00:00.000Z"
OWNER = str(uuid.UUID(int=1))
LISTS = [str(uuid.UUID(int=100 + n)) for n in range(5)]
SIZES = [0, 1, 7, 40, 3000]  # the last list is long: a scan of it would show in the time
Tops = dict[str, float | None]


def _todos(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for list_id, size in zip(LISTS, SIZES, strict=True):
        for _ in range(size):
            rows.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "list_id": list_id,
                         "title": "t", "status": "open", "priority": "normal", "tags": "[]",
                         "order": rng.choice([rng.uniform(-1e6, 1e6), float(rng.randrange(9))]),
                         "created_at": NOW, "updated_at": NOW, "version": 1})
    return rows


def _expected(rows: list[dict[str, Any]], scopes: list[str], keyed: list[str],
              named: list[str]) -> tuple[Tops, Tops]:
    def top(list_id: str, skip: set[str]) -> float | None:
        orders = [r["order"] for r in rows if r["list_id"] == list_id and r["id"] not in skip]
        return max(orders) if orders else None

    return ({s: top(s, set()) for s in scopes}, {s: top(s, set(named)) for s in keyed})


def _asks(rng: random.Random, rows: list[dict[str, Any]]) -> list[tuple[list[str], ...]]:
    asks = []
    for _ in range(12):
        # Disjoint, as storage.rules.scoped makes them; one list that does not exist.
        shuffled = rng.sample(LISTS + [str(uuid.UUID(int=999))], len(LISTS) + 1)
        cut = rng.randrange(0, 4)
        scopes, keyed = shuffled[:cut], shuffled[cut:cut + rng.randrange(1, 3)]
        # Named todos: often the top ones of a keyed list, so the next one down counts.
        ranked = sorted((r for r in rows if r["list_id"] in keyed), key=lambda r: -r["order"])
        named = [r["id"] for r in ranked[:rng.randrange(0, 4)]]
        named += [r["id"] for r in rng.sample(rows, 3)] + [str(uuid.UUID(int=998))]
        asks.append((sorted(scopes), sorted(keyed), sorted(set(named))))
    return asks


def _found(results: list[Any], asked: list[str]) -> Tops:
    found: Tops = dict.fromkeys(asked)
    for list_id, value in results:
        found[list_id] = value
    return found


Read = Callable[[AsyncConnection, list[str], list[str], list[str]],
                Awaitable[tuple[Tops, Tops]]]


def _plain(listed: Callable[[Any, str], Any], encode: Callable[[list[str]], Any]) -> Read:
    tops, outside = statements.reads(listed)[3:]

    async def read(conn: AsyncConnection, scopes: list[str], keyed: list[str],
                   named: list[str]) -> tuple[Tops, Tops]:
        first = await conn.execute(tops, {"top_scopes": encode(scopes)})
        second = await conn.execute(outside, {"keyed_top_scopes": encode(keyed),
                                              "todo_ids": encode(named)})
        return _found(list(first), scopes), _found(list(second), keyed)

    return read


async def _postgres_union(conn: AsyncConnection, scopes: list[str], keyed: list[str],
                          named: list[str]) -> tuple[Tops, Tops]:
    # The asyncpg path's one read: its "m" rows are the tops, told apart by the lists asked.
    rows = await conn.execute(postgres._READ, {
        "top_scopes": scopes, "keyed_top_scopes": keyed, "todo_ids": named,
        "actors": [], "op_ids": []})
    tops = [(row[1], row[5]) for row in rows if row[0] == "m"]
    return (_found([(s, v) for s, v in tops if s in scopes], scopes),
            _found([(s, v) for s, v in tops if s in keyed], keyed))


async def _check(url: str, reads: dict[str, Read]) -> None:
    rng = random.Random(12)
    rows = _todos(rng)
    db = Database(url)
    try:
        async with db.write() as conn:
            await conn.execute(insert(users), [{"id": OWNER, "username": "o", "seq": 0,
                                                "pruned_seq": 0, "created_at": NOW,
                                                "guest": False}])
            await conn.execute(insert(lists), [
                {"id": list_id, "name": "L", "inbox": n == 0, "owner_id": OWNER,
                 "version": 1, "created_at": NOW, "updated_at": NOW}
                for n, list_id in enumerate(LISTS)])
            await conn.execute(insert(todos), rows)
        asks = _asks(rng, rows)
        async with db.read() as conn:
            for scopes, keyed, named in asks:
                want = _expected(rows, scopes, keyed, named)
                for name, read in reads.items():
                    assert await read(conn, scopes, keyed, named) == want, (name, scopes, keyed)
    finally:
        await db.dispose()


async def test_top_reads_on_sqlite(tmp_path: Path) -> None:
    """Expanded IN (the plain path) and json_each (the fast path) on SQLite."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'tops.db'}"
    await upgrade(url)
    await _check(url, {"expanded": _plain(core._listed, list),
                       "json_each": _plain(sqlite._listed, json.dumps)})


@pytest.mark.services
async def test_top_reads_on_postgres() -> None:
    """Expanded IN, arrays with = ANY, and the asyncpg path's union on PostgreSQL."""
    problem = await postgres_problem()
    if problem:
        skip_or_fail(problem)
    name = await create_database()
    try:
        url = database_url(name)
        await upgrade(url)
        await _check(url, {"expanded": _plain(core._listed, list),
                           "any": _plain(postgres._listed, list),
                           "union": _postgres_union})
    finally:
        await drop_database(name)
