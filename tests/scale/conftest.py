"""Fixtures for scale-out tests: a PostgreSQL database per run, Redis (shared or private),
and clusters of hub OS processes that are always stopped and checked for tracebacks."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.scale.cluster import HubProcess
from tests.services import (
    PG_ADMIN_URL,
    REDIS_URL,
    create_database,
    database_url,
    delete_keys,
    drop_database,
    free_port,
    postgres_problem,
    redis_problem,
    unique_prefix,
)


@dataclass(frozen=True)
class Postgres:
    """The database of this test run."""

    name: str
    admin_url: str

    @property
    def url(self) -> str:
        """The hub's database URL (asyncpg)."""
        return database_url(self.name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A fresh PostgreSQL database for the run, dropped at the end; skips without a server."""
    problem = asyncio.run(postgres_problem())
    if problem is not None:
        skip_or_fail(problem)
    name = asyncio.run(create_database())
    try:
        yield Postgres(name, PG_ADMIN_URL)
    finally:
        asyncio.run(drop_database(name))


@pytest.fixture
async def shared_redis() -> str:
    """The machine's Redis (tests use key prefixes of their own); skips when it is down."""
    problem = await redis_problem()
    if problem is not None:
        skip_or_fail(problem)
    return REDIS_URL


class Cluster:
    """Hub processes sharing one database, one Redis, one key prefix and one secret."""

    def __init__(self, folder: Path, database: str, redis_url: str) -> None:
        self.folder = folder
        self.database = database
        self.redis_url = redis_url
        self.prefix = unique_prefix()
        self.secret = secrets.token_urlsafe(32)
        self.hubs: list[HubProcess] = []

    def arguments(self, data_dir: Path, *extra: str) -> list[str]:
        """The command-line options every process of the cluster gets."""
        return [
            "--database-url", self.database, "--redis-url", self.redis_url,
            "--redis-prefix", self.prefix, f"--secret={self.secret}", "--data-dir", str(data_dir),
            "--argon2-time-cost", "1", "--argon2-memory-cost", "1024", "--log-level", "warning",
            "--shutdown-grace", "1", "--register-rate", "0", *extra,
        ]

    async def start(self, count: int, *extra: str) -> list[HubProcess]:
        """Start ``count`` processes at once; returns them once every one is healthy."""
        started = []
        for _ in range(count):
            index = len(self.hubs) + 1
            hub = HubProcess(free_port(), self.arguments(self.folder / f"hub{index}", *extra),
                             self.folder / f"hub{index}.log")
            hub.spawn()
            self.hubs.append(hub)
            started.append(hub)
        await asyncio.gather(*(hub.wait_healthy() for hub in started))
        return started

    def stop(self) -> None:
        """Stop every process (waiting for each)."""
        for hub in self.hubs:
            hub.stop()

    def tracebacks(self) -> list[str]:
        """The logs of processes that printed a traceback (which always means a bug)."""
        return [f"--- {hub.log.name}\n{hub.tail()}" for hub in self.hubs
                if "Traceback" in hub.tail(10**7)]


@pytest.fixture
async def cluster_on(
    tmp_path: Path, postgres: Postgres
) -> AsyncIterator[Callable[[str], Cluster]]:
    """Make a Cluster on a given Redis URL; all processes are stopped after the test."""
    made: list[Cluster] = []

    def make(redis_url: str) -> Cluster:
        cluster = Cluster(tmp_path / f"cluster{len(made) + 1}", postgres.url, redis_url)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        await asyncio.to_thread(cluster.stop)
    for cluster in made:
        if cluster.redis_url == REDIS_URL:
            await delete_keys(cluster.prefix)
    problems = [text for cluster in made for text in cluster.tracebacks()]
    assert not problems, "a hub process logged a traceback:\n" + "\n".join(problems)
