"""The ``tag`` filter of GET /api/todos matches whole tags, on SQLite and on PostgreSQL: tags
with characters that JSON escapes or LIKE treats as wildcards are found, and a tag is never
found inside another tag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.clock import utcnow
from storage.engine import Database
from storage.migrate import upgrade
from storage.todos import TodoQuery, list_todos
from storage.types import Applied, Command, parse_op
from storage.users import create_user
from storage.writer import write_group
from tests.conftest import skip_or_fail
from tests.services import create_database, database_url, drop_database, postgres_problem

# Each todo's tags; the filter for a tag must find exactly the todos that hold it.
TAGGED = {
    "quote": ['say "hi"'],
    "backslash": ["c:\\temp", "\\"],
    "percent": ["100%"],
    "underscore": ["a_b"],
    "unicode": ["café", "日本", "emoji 🎉"],
    "plain": ["ab", "a"],
    "comma": ['x","y'],
    "none": [],
}
LOOKUPS = {
    'say "hi"': {"quote"},
    "c:\\temp": {"backslash"},
    "\\": {"backslash"},
    "100%": {"percent"},
    "%": set(),
    "a_b": {"underscore"},
    "a%b": set(),
    "axb": set(),
    "_": set(),
    "café": {"unicode"},
    "CAFÉ": {"unicode"},
    "日本": {"unicode"},
    "emoji 🎉": {"unicode"},
    "a": {"plain"},
    "b": set(),
    '"': set(),
    "x": set(),
    'x","y': {"comma"},
    " ab ": {"plain"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind."""
    name: str | None = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    else:
        problem = await postgres_problem()
        if problem:
            skip_or_fail(problem)
        name = await create_database()
        url = database_url(name)
    try:
        await upgrade(url)
        db = Database(url)
        try:
            yield db
        finally:
            await db.dispose()
    finally:
        if name is not None:
            await drop_database(name)


async def test_tag_filter_matches_whole_tags(database: Database) -> None:
    """Every lookup finds exactly the todos holding that tag (trimmed, lower-case)."""
    async with database.write() as conn:
        user = await create_user(conn, "ann", None)
    for title, tags in TAGGED.items():
        frame = {"type": "create", "todo": {"title": title, "tags": tags}}
        (outcome,) = await write_group(database, [(user.id, Command(None, [parse_op(frame)]),
                                                   "t")])
        assert isinstance(outcome, Applied), outcome
    found: dict[str, set[str]] = {}
    async with database.read() as conn:
        for tag in LOOKUPS:
            items, total = await list_todos(conn, user.id, TodoQuery(tag=tag), utcnow())
            found[tag] = {item["title"] for item in items}
            assert total == len(items)
    assert found == LOOKUPS
