"""Fixtures shared by every test: real hubs on free ports."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import RunningHub, start_hub
from tests.services import RedisServer, redis_server_binary

REQUIRE_SERVICES = os.environ.get("TODOHUB_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip with a visible reason, or fail when TODOHUB_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing (TODOHUB_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _collect_garbage_of_the_test() -> Iterator[None]:
    """Collects reference cycles after each test, so that a socket or transport a test left
    unclosed fails that test (the warnings are errors) instead of a later one."""
    yield
    gc.collect()


@pytest.fixture
def hub_factory(tmp_path: Path) -> Iterator[Callable[..., RunningHub]]:
    """Start hubs with setting overrides; all are stopped after the test."""
    started: list[RunningHub] = []
    count = 0

    def make(**overrides: Any) -> RunningHub:
        nonlocal count
        count += 1
        overrides.setdefault("data_dir", str(tmp_path / f"hub{count}"))
        running = start_hub(**overrides)
        started.append(running)
        return running

    yield make
    for running in reversed(started):
        running.stop()


@pytest.fixture
def hub(hub_factory: Callable[..., RunningHub]) -> RunningHub:
    """A hub with the default (test) settings on a fresh SQLite database."""
    return hub_factory()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server the test may stop and start; stopped by pid at the end."""
    if redis_server_binary() is None:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
