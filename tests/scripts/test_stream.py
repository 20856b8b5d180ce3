"""GET /api/changes/stream over a real hub: events, resume, heartbeats, the socket's rules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import update

from storage.engine import Database
from storage.models import users
from tests.client import TIMEOUT, bearer, register
from tests.scale.cluster import HubProcess
from tests.scripts.helpers import make_token, pat
from tests.scripts.sse import open_stream
from tests.servers import RunningHub
from tests.services import free_port


async def _create(url: str, token: str, *titles: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
        for title in titles:
            made = await http.post("/api/todos", headers=pat(token), json={"title": title})
            assert made.status_code == 201, made.text


async def test_stream_replays_then_follows_live_with_heartbeats(
    hub_factory: Callable[..., RunningHub],
) -> None:
    """since=0 replays the log, one event per change with id = seq and the socket's change
    frame as data; then live changes follow, with heartbeat comments between."""
    hub = hub_factory(sse_heartbeat=0.2)
    login = await register(hub)
    token = (await make_token(hub, login, scope="read"))["token"]
    await _create(hub.url, login["access_token"], "one", "two")
    async with open_stream(hub.url, token, since=0) as stream:
        await stream.wait(2)
        await _create(hub.url, login["access_token"], "three")
        events = await stream.wait(3, comments=1)
    assert [e.id for e in events] == [1, 2, 3]
    assert [e.data["seq"] for e in events] == [1, 2, 3]
    assert [e.data["type"] for e in events] == ["change"] * 3
    assert [e.data["todo"]["title"] for e in events] == ["one", "two", "three"]


async def test_last_event_id_wins_and_no_since_means_from_now(hub: RunningHub) -> None:
    """Last-Event-ID is where a reconnecting client resumes, whatever since says; without
    either the stream carries only what happens after it opened."""
    login = await register(hub)
    access = login["access_token"]
    await _create(hub.url, access, "a", "b", "c")
    async with open_stream(hub.url, access, since=0, last_event_id=2) as stream:
        assert [e.id for e in await stream.wait(1)] == [3]
    async with open_stream(hub.url, access) as stream:
        await _create(hub.url, access, "d")
        assert [e.id for e in await stream.wait(1)] == [4]


async def test_bad_and_old_since_are_refused_like_the_changes_route(hub: RunningHub) -> None:
    """A since that is not a number answers 422; one older than the log answers 409, as
    GET /api/changes does; no token answers 401."""
    login = await register(hub)
    await _create(hub.url, login["access_token"], "a", "b", "c")
    db = Database(hub.settings.resolved_database_url)
    try:
        async with db.write() as conn:
            await conn.execute(update(users).where(users.c.id == login["user"]["id"])
                               .values(pruned_seq=2))
    finally:
        await db.dispose()
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        bad = await http.get("/api/changes/stream", params={"since": "x"}, headers=bearer(login))
        # b"\xb2" reads as "²" (latin-1), which str.isdigit() calls a digit.
        odd = await http.get("/api/changes/stream", headers=[
            (b"Authorization", f"Bearer {login['access_token']}".encode()),
            (b"Last-Event-ID", b"\xb2")])
        assert odd.status_code == 422
        old = await http.get("/api/changes/stream", params={"since": 1}, headers=bearer(login))
        log = await http.get("/api/changes", params={"since": 1}, headers=bearer(login))
        nobody = await http.get("/api/changes/stream")
    assert bad.status_code == 422
    assert old.status_code == 409 and old.json() == log.json()
    assert nobody.status_code == 401
    async with open_stream(hub.url, login["access_token"], since=2) as stream:
        assert [e.id for e in await stream.wait(1)] == [3]


async def test_revoking_the_token_ends_its_stream(hub: RunningHub) -> None:
    """A stream opened with an access token ends when the token is revoked."""
    login = await register(hub)
    made = await make_token(hub, login)
    async with open_stream(hub.url, made["token"]) as stream:
        async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
            gone = await http.delete(f"/api/tokens/{made['id']}", headers=bearer(login))
            assert gone.status_code == 204
        await stream.wait(ended=True)


async def test_resume_with_last_event_id_after_a_restart_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    """The hub (a real process) stops while a stream is open: the stream ends cleanly;
    changes made after that, once the hub is back, arrive when the client reconnects with
    Last-Event-ID, each exactly once."""
    data = tmp_path / "data"
    args = ["--data-dir", str(data), "--argon2-time-cost", "1", "--argon2-memory-cost", "1024",
            "--log-level", "warning", "--shutdown-grace", "1"]
    first = HubProcess(free_port(), args, tmp_path / "first.log")
    first.spawn()
    second: HubProcess | None = None
    try:
        await first.wait_healthy()
        login = await register(first)
        token = (await make_token(first, login))["token"]
        await _create(first.url, token, "1", "2")
        async with open_stream(first.url, token, since=0) as stream:
            await stream.wait(2)
            await _create(first.url, token, "3")
            await stream.wait(3)
            await asyncio.to_thread(first.stop)
            await stream.wait(3, ended=True)
            seen = list(stream.events)
        second = HubProcess(free_port(), args, tmp_path / "second.log")
        second.spawn()
        await second.wait_healthy()
        await _create(second.url, token, "4", "5")
        async with open_stream(second.url, token, since=0, last_event_id=seen[-1].id) as again:
            await again.wait(2)
            await _create(second.url, token, "6")
            seen += await again.wait(3)
        assert [e.id for e in seen] == [1, 2, 3, 4, 5, 6]
        assert [e.data["todo"]["title"] for e in seen] == ["1", "2", "3", "4", "5", "6"]
    finally:
        first.stop()
        if second is not None:
            second.stop()
    for hub in (first, second):
        assert hub is not None and "Traceback" not in hub.tail(10**6), hub.tail()
