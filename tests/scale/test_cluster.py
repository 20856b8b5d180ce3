"""Two hub OS processes on one PostgreSQL and one Redis behave as one hub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.client import Device, bearer, register
from tests.lists import shared_list
from tests.scale.cluster import (
    Address,
    Replica,
    assert_device_matches,
    database_state,
    wait_seq,
)
from tests.scale.conftest import Cluster, Postgres
from tests.services import wait_until


def saw_presence(device: Device, names: set[str]) -> Callable[[], bool]:
    """A check: the device received a presence frame listing exactly ``names``."""
    return lambda: any(
        frame["type"] == "presence" and {d["device"] for d in frame["devices"]} == names
        for frame in device.frames
    )


async def socket_writes(device: Device, tag: str, count: int) -> list[str]:
    """Create ``count`` todos over the socket, complete every third, delete every fifth."""
    ids = [(await device.create(f"{tag}-{n}"))["todo"]["id"] for n in range(count)]
    for todo_id in ids[::3]:
        ack = await device.command({"type": "update", "todo_id": todo_id,
                                    "patch": {"completed": True}})
        assert ack["type"] == "ack", ack
    for todo_id in ids[1::5]:
        ack = await device.command({"type": "delete", "todo_id": todo_id})
        assert ack["type"] == "ack", ack
    return ids


async def rest_writes(hub: Address, tokens: dict[str, Any], tag: str, count: int) -> list[str]:
    """A script: create ``count`` todos over REST, then rename every other one."""
    async with httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens), timeout=20) as http:
        ids = []
        for n in range(count):
            answer = await http.post("/api/todos", json={"title": f"{tag}-{n}"})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        for todo_id in ids[::2]:
            answer = await http.patch(f"/api/todos/{todo_id}", json={"title": f"{tag} renamed"})
            assert answer.status_code == 200, answer.text
        return ids


async def test_devices_on_two_processes_stay_in_sync(
    cluster_on: Callable[[str], Cluster], shared_redis: str, postgres: Postgres
) -> None:
    """Devices on two processes and REST scripts on both write at once; every device ends
    with the database's state, having seen each seq once, in order."""
    first, second = await cluster_on(shared_redis).start(2)
    tokens = await register(first)
    token, user_id = tokens["access_token"], tokens["user"]["id"]
    laptop = await Device.connect(first, token, "laptop")
    phone = await Device.connect(second, token, "phone")
    await wait_until(saw_presence(laptop, {"laptop", "phone"}), 10, "phone on laptop's list")
    mine, theirs, *_ = await asyncio.gather(
        socket_writes(laptop, "laptop", 12), socket_writes(phone, "phone", 12),
        rest_writes(first, tokens, "script-1", 8), rest_writes(second, tokens, "script-2", 8),
    )
    # Each device edits the other's todos (written on the other process).
    await wait_seq(phone, (await database_state(postgres.admin_url, postgres.name,
                                                user_id)).seq)
    await asyncio.gather(
        *(phone.command({"type": "update", "todo_id": i, "patch": {"priority": "high"}})
          for i in mine[2:6]),
        *(laptop.command({"type": "delete", "todo_id": i}) for i in theirs[2:4]),
    )
    state = await database_state(postgres.admin_url, postgres.name, user_id)
    assert state.log == list(range(1, state.seq + 1))
    assert state.seq == 2 * (12 + 4 + 3) + 2 * (8 + 4) + 4 + 2
    for device in (laptop, phone):
        await wait_seq(device, state.seq)
        assert_device_matches(Replica().take(device), state)
        await device.close()


async def test_concurrent_writers_on_two_processes_keep_seqs_consecutive(
    cluster_on: Callable[[str], Cluster], shared_redis: str, postgres: Postgres
) -> None:
    """2 x 100 REST creates for one user at the same moment on two processes: the change log
    is 1..200, every todo exists, and a device on each process saw 1..200 in order."""
    first, second = await cluster_on(shared_redis).start(2)
    tokens = await register(first)
    devices = [await Device.connect(hub, tokens["access_token"], f"d{n}")
               for n, hub in enumerate((first, second))]

    async def creates(hub: Address, tag: str) -> list[str]:
        limit = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens),
                                     timeout=30) as http:

            async def one(n: int) -> str:
                async with limit:
                    answer = await http.post("/api/todos", json={"title": f"{tag}-{n}"})
                assert answer.status_code == 201, answer.text
                return str(answer.json()["id"])

            return list(await asyncio.gather(*(one(n) for n in range(100))))

    made = await asyncio.gather(creates(first, "one"), creates(second, "two"))
    state = await database_state(postgres.admin_url, postgres.name, tokens["user"]["id"])
    assert state.seq == 200 and state.log == list(range(1, 201))
    assert set(state.todos) == set(made[0]) | set(made[1]) and len(state.todos) == 200
    for device in devices:
        await wait_seq(device, 200)
        assert_device_matches(Replica().take(device), state)
        await device.close()


async def test_two_shared_lists_with_common_members_on_two_processes(
    cluster_on: Callable[[str], Cluster], shared_redis: str, postgres: Postgres
) -> None:
    """Three users share two lists (each list has members in common with the other) and
    write to both at once from two processes, over sockets and REST: no deadlock, every
    member's change log is consecutive, and every device holds what the database holds."""
    first, second = await cluster_on(shared_redis).start(2)
    ann, bob, cat = [await register(first) for _ in range(3)]
    one = await shared_list(first, ann, [(bob, "editor"), (cat, "editor")], "one")
    two = await shared_list(second, cat, [(bob, "editor"), (ann, "editor")], "two")
    users = (ann, bob, cat)
    devices = [await Device.connect(hub, u["access_token"], f"{n}-{k}")
               for n, u in enumerate(users) for k, hub in enumerate((first, second))]

    async def writer(device: Device, tag: str) -> None:
        for n in range(15):
            list_id = (one, two)[n % 2]
            made = await device.create(f"{tag}-{n}", list_id=list_id)
            if n % 3 == 0:
                moved = await device.command({"type": "update", "todo_id": made["todo"]["id"],
                                              "patch": {"list_id": (two, one)[n % 2]}})
                assert moved["type"] == "ack", moved

    async def script(hub: Address, tokens: dict[str, Any], tag: str) -> None:
        async with httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens),
                                     timeout=30) as http:
            for n in range(10):
                answer = await http.post("/api/todos", json={"title": f"{tag}-{n}",
                                                             "list_id": (two, one)[n % 2]})
                assert answer.status_code == 201, answer.text

    await asyncio.gather(*(writer(device, f"w{n}") for n, device in enumerate(devices)),
                         script(first, bob, "s1"), script(second, ann, "s2"))
    for n, tokens in enumerate(users):
        state = await database_state(postgres.admin_url, postgres.name, tokens["user"]["id"])
        assert state.log == list(range(1, state.seq + 1))
        assert len(state.todos) == 6 * 15 + 2 * 10
        for device in devices[2 * n:2 * n + 2]:
            await wait_seq(device, state.seq)
            replica = Replica().take(device)
            assert replica.view() == state.todos
            assert replica.seqs == list(range(replica.seqs[0], state.seq + 1))
    for device in devices:
        await device.close()
