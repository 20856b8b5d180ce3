"""The Python client (hub.client) against a real hub: todos, paging, errors, retries, watch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest

from hub.client import (
    AsyncHub,
    Conflict,
    Forbidden,
    Hub,
    Invalid,
    NotFound,
    Retry,
    Unauthorized,
    Unreachable,
)
from tests.client import TIMEOUT, bearer, register
from tests.scale.cluster import HubProcess
from tests.scripts.helpers import make_token
from tests.scripts.proxy import dropping_proxy
from tests.servers import RunningHub
from tests.services import free_port

FAST = Retry(attempts=3, base=0.01, cap=0.05)


async def test_sync_client_covers_the_todo_calls(hub: RunningHub) -> None:
    """create, get, update with if_version (Conflict carries the current todo), delete,
    batch and list with filters and paging handled for the caller."""
    login = await register(hub)
    token = (await make_token(hub, login))["token"]

    def run() -> None:
        with Hub(hub.url, token) as client:
            assert client.me()["id"] == login["user"]["id"]
            todo = client.todos.create("Buy milk", tags=["home"], priority="high")
            assert client.todos.get(todo["id"])["title"] == "Buy milk"
            done = client.todos.update(todo["id"], completed=True, if_version=todo["version"])
            assert done["completed"] and done["version"] == 2
            with pytest.raises(Conflict) as stale:
                client.todos.update(todo["id"], title="late", if_version=1)
            assert stale.value.code == "conflict" and stale.value.status == 412
            assert stale.value.todo is not None and stale.value.todo["version"] == 2
            for start in (0, 100):
                made = client.todos.batch([{"type": "create", "todo": {"title": f"n{n}"}}
                                           for n in range(start, start + 100)])
                assert len(made["seqs"]) == 100
            titles = [t["title"] for t in client.todos.list(sort="created_at")]
            assert len(titles) == 201 and len(set(titles)) == 201
            assert [t["title"] for t in client.todos.list(tag="home")] == ["Buy milk"]
            client.todos.delete(todo["id"])
            with pytest.raises(NotFound) as missing:
                client.todos.get(todo["id"])
            assert missing.value.code == "not_found"
            with pytest.raises(Invalid) as invalid:
                client.todos.create("")
            assert invalid.value.code == "validation" and invalid.value.details
            assert client.todos.stats()["total"] == 200

    await asyncio.to_thread(run)


async def test_async_client_and_typed_errors(hub: RunningHub) -> None:
    """AsyncHub does the same calls; a read token's write raises Forbidden, a bad token
    Unauthorized, a hub that is not there Unreachable."""
    login = await register(hub)
    reader = (await make_token(hub, login, scope="read"))["token"]
    writer = (await make_token(hub, login, scope="write"))["token"]
    async with AsyncHub(hub.url, writer) as client:
        todo = await client.todos.create("async")
        patched = await client.todos.update(todo["id"], title="renamed")
        assert patched["title"] == "renamed"
        assert [t["title"] async for t in client.todos.list()] == ["renamed"]
        made = await client.todos.batch([{"type": "delete", "todo_id": todo["id"]}])
        assert made["todos"][0]["deleted"] is True
    async with AsyncHub(hub.url, reader) as client:
        with pytest.raises(Forbidden) as refused:
            await client.todos.create("no")
        assert refused.value.code == "forbidden" and refused.value.status == 403
    async with AsyncHub(hub.url, "thp_not-a-token") as client:
        with pytest.raises(Unauthorized):
            await client.me()
    async with AsyncHub(f"http://127.0.0.1:{free_port()}", writer, retry=FAST) as client:
        with pytest.raises(Unreachable):
            await client.todos.create("nowhere")


async def test_retry_after_a_dropped_answer_applies_the_create_once(hub: RunningHub) -> None:
    """The connection drops after the hub applied a create and before the client read the
    answer; the client sends it again with the same idempotency key and gets the first
    answer: one todo, one change."""
    login = await register(hub)
    token = (await make_token(hub, login))["token"]
    async with dropping_proxy(hub.port) as proxy:
        proxy.drop_answers = 1
        async with AsyncHub(proxy.url, token, retry=FAST) as client:
            todo = await client.todos.create("exactly once")
        assert proxy.dropped == 1

        def sync_create() -> str:
            proxy.drop_answers = 1
            with Hub(proxy.url, token, retry=FAST) as client:
                return client.todos.create("once more")["id"]

        second = await asyncio.to_thread(sync_create)
        assert proxy.dropped == 2
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        listed = (await http.get("/api/todos", headers=bearer(login))).json()
        log = (await http.get("/api/changes", params={"since": 0},
                              headers=bearer(login))).json()
    assert sorted(t["id"] for t in listed["items"]) == sorted([todo["id"], second])
    assert [c["seq"] for c in log["changes"]] == [1, 2]


async def test_watch_survives_a_hub_restart_without_loss_or_repeat(tmp_path: Path) -> None:
    """watch() follows live changes; the hub process stops and starts again on the same
    address, changes are made while the watcher is away, and it yields every change once."""
    port = free_port()
    args = ["--data-dir", str(tmp_path / "data"), "--argon2-time-cost", "1",
            "--argon2-memory-cost", "1024", "--log-level", "warning", "--shutdown-grace", "1"]
    hubs = [HubProcess(port, args, tmp_path / "first.log")]
    hubs[0].spawn()
    try:
        await hubs[0].wait_healthy()
        login = await register(hubs[0])
        token = (await make_token(hubs[0], login))["token"]
        seen: list[int] = []
        async with AsyncHub(hubs[0].url, token) as client:
            async def follow() -> None:
                async with aclosing(client.watch(since=0)) as changes:
                    async for change in changes:
                        seen.append(change["seq"])
                        if len(seen) == 5:
                            return

            watcher = asyncio.create_task(follow())
            await _wait_socket(hubs[0].url)
            await client.todos.create("1")
            await client.todos.create("2")
            await _wait_for(lambda: len(seen) == 2)
            await asyncio.to_thread(hubs[0].stop)
            hubs.append(HubProcess(port, args, tmp_path / "second.log"))
            hubs[1].spawn()
            await hubs[1].wait_healthy()
            await client.todos.create("3")
            await client.todos.create("4")
            await client.todos.create("5")
            async with asyncio.timeout(30):
                await watcher
        assert seen == [1, 2, 3, 4, 5]
    finally:
        for process in hubs:
            process.stop()
    for process in hubs:
        assert "Traceback" not in process.tail(10**6), process.tail()


async def _wait_socket(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
        async with asyncio.timeout(TIMEOUT):
            while int((await http.get("/health")).json()["sockets"]) < 1:
                await asyncio.sleep(0.05)


async def _wait_for(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not check():
            await asyncio.sleep(0.02)
