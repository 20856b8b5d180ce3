"""Property tests against a live hub: Hypothesis profiles and the arena they run in.

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (the default, 200 examples per test, as .ci/run
runs them), ``dev`` (30, while working on a test) and ``long`` (2,000, to hunt). Failures
print the blob that reproduces them (``@reproduce_failure``); no example database is kept.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from tests.client import Device, bearer, register
from tests.conftest import skip_or_fail
from tests.servers import RunningHub
from tests.services import create_database, database_url, drop_database, postgres_problem

_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    # One hub and its sockets serve every example of a test, on purpose.
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                              HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=200, **_COMMON)
settings.register_profile("dev", max_examples=30, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# What a hub may answer to anything a client sends; internal and unavailable mean a bug here.
CONTRACT_CODES = {"bad_request", "validation", "not_found", "conflict", "too_large",
                  "unauthorized"}


@dataclass
class Arena:
    """A live hub, a user whose socket receives the generated frames, and a bystander (a
    second user) whose own writes go on at the same time."""

    hub: RunningHub
    token: str
    attacker: Device
    http: httpx.AsyncClient
    known_ids: list[str]
    bystander: Device
    bystander_http: httpx.AsyncClient
    written: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Arena(hub on {self.hub.url}, {len(self.written)} bystander writes)"

    async def bystander_writes(self) -> str:
        """Send one of the bystander's creates without waiting for it; returns its id."""
        op_id = f"calm-{uuid.uuid4()}"
        self.written[op_id] = f"bystander {len(self.written)}"
        await self.bystander.send({"type": "create", "id": op_id,
                                   "todo": {"title": self.written[op_id]}})
        return op_id

    async def bystander_acked(self, op_id: str) -> None:
        """The bystander's command was applied (its ack arrived, not an error)."""
        answer = await answer_to(self.bystander, op_id)
        assert answer["type"] == "ack", answer
        assert answer["todo"]["title"] == self.written[op_id]

    async def bystander_list_is_what_it_wrote(self) -> None:
        """The bystander's list holds exactly the todos it wrote."""
        titles: list[str] = []
        page = 1
        while True:
            answer = (await self.bystander_http.get(
                "/api/todos", params={"page": page, "per_page": 100})).json()
            titles += [item["title"] for item in answer["items"]]
            if page >= answer["pages"]:
                break
            page += 1
        assert sorted(titles) == sorted(self.written.values())


async def answer_to(device: Device, op_id: str, timeout: float = 15) -> dict[str, Any]:
    """The ack or error frame that answers ``op_id``."""
    async with asyncio.timeout(timeout):
        while True:
            for frame in device.frames:
                if frame.get("id") == op_id and frame.get("type") in ("ack", "error"):
                    return frame
            if device.closed.done():
                raise AssertionError(f"socket closed {device.closed.result()} before the "
                                     f"answer to {op_id}")
            device._arrived.clear()
            await device._arrived.wait()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The hub's database URL: SQLite in its data folder, or a PostgreSQL database of its
    own (dropped after the test), whose text rules are stricter (no U+0000)."""
    if request.param == "sqlite":
        yield ""
        return
    problem = await postgres_problem()
    if problem is not None:
        skip_or_fail(problem)
    name = await create_database()
    try:
        yield database_url(name)
    finally:
        await drop_database(name)


@pytest.fixture
async def arena(hub_factory: Callable[..., RunningHub], database: str) -> AsyncIterator[Arena]:
    """A hub without a command rate limit (examples arrive faster than a person types) and
    without keep-alive pings: uvicorn draws their payloads from the global ``random``, which
    Hypothesis watches during a draw and reports as a strategy using randomness."""
    hub = hub_factory(command_rate=0, ping_interval=0, database_url=database)
    attacker_tokens, bystander_tokens = await register(hub), await register(hub)
    token = str(attacker_tokens["access_token"])
    attacker = await Device.connect(hub, token, "fuzz")
    bystander = await Device.connect(hub, str(bystander_tokens["access_token"]), "calm")
    known = [(await attacker.create(f"known {i}"))["todo"]["id"] for i in range(2)]
    http = httpx.AsyncClient(base_url=hub.url, headers=bearer(attacker_tokens), timeout=15)
    bystander_http = httpx.AsyncClient(base_url=hub.url, headers=bearer(bystander_tokens),
                                       timeout=15)
    arena = Arena(hub, token, attacker, http, known, bystander, bystander_http)
    try:
        yield arena
        await arena.bystander_list_is_what_it_wrote()
        assert hub.log.tracebacks() == []
    finally:
        for device in (attacker, bystander):
            await device.close()
        for client in (http, bystander_http):
            await client.aclose()
