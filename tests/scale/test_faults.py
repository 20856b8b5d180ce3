"""Faults of a scaled-out hub: Redis restarting under load, a hub process killed."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from tests.client import Device, bearer, register
from tests.scale.cluster import (
    Address,
    HubProcess,
    Replica,
    assert_device_matches,
    database_state,
    last_seq,
    wait_seq,
)
from tests.scale.conftest import Cluster, Postgres
from tests.scale.test_cluster import saw_presence
from tests.services import RedisServer, wait_until

PACE = 0.02  # between one writer's commands: well under the per-socket rate limit


class Writers:
    """Devices and REST scripts that keep writing until told to stop; counts what committed."""

    def __init__(self) -> None:
        self.done = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def socket(self, device: Device, tag: str) -> None:
        """Keep creating todos over a socket."""
        self._tasks.append(asyncio.create_task(self._socket(device, tag)))

    def rest(self, hub: Address, tokens: dict[str, Any], tag: str) -> None:
        """Keep creating and renaming todos over REST."""
        self._tasks.append(asyncio.create_task(self._rest(hub, tokens, tag)))

    async def more(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` more writes committed."""
        target = self.done + count
        await wait_until(lambda: self.done >= target, timeout, f"{count} more writes")

    async def stop(self) -> None:
        """Stop every writer and re-raise the first failure."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _socket(self, device: Device, tag: str) -> None:
        n = 0
        while not self._stop.is_set():
            await device.create(f"{tag}-{n}")
            self.done, n = self.done + 1, n + 1
            await asyncio.sleep(PACE)

    async def _rest(self, hub: Address, tokens: dict[str, Any], tag: str) -> None:
        async with httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens),
                                     timeout=20) as http:
            n = 0
            while not self._stop.is_set():
                made = await http.post("/api/todos", json={"title": f"{tag}-{n}"})
                assert made.status_code == 201, made.text
                renamed = await http.patch(f"/api/todos/{made.json()['id']}",
                                           json={"title": f"{tag}-{n} renamed"})
                assert renamed.status_code == 200, renamed.text
                self.done, n = self.done + 2, n + 1
                await asyncio.sleep(PACE)


async def answers(hub: HubProcess, status: int) -> bool:
    """Whether the process's /health answers ``status`` (503 while Redis is away)."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=5) as http:
        return (await http.get("/health")).status_code == status


async def test_redis_restart_loses_no_change(
    redis_server: RedisServer, cluster_on: Callable[[str], Cluster], postgres: Postgres
) -> None:
    """Redis stops and comes back while devices on two processes and REST scripts write:
    writes go on committing, and afterwards every device has every seq once, in order."""
    first, second = await cluster_on(redis_server.url).start(2)
    tokens = await register(first)
    laptop = await Device.connect(first, tokens["access_token"], "laptop")
    phone = await Device.connect(second, tokens["access_token"], "phone")
    writers = Writers()
    writers.socket(laptop, "laptop")
    writers.socket(phone, "phone")
    writers.rest(first, tokens, "script-1")
    writers.rest(second, tokens, "script-2")
    try:
        await writers.more(20)
        redis_server.stop()
        for hub in (first, second):
            await wait_until(partial(answers, hub, 503), 15, "a hub to see Redis go")
        await writers.more(30)  # committed while Redis is away
    finally:
        await writers.stop()
    # While Redis is away each device still gets the changes made on its own process.
    for device in (laptop, phone):
        await wait_seq(device, (await device.create("while Redis is away"))["seq"])
    redis_server.start()
    # Nothing is written now: only the rooms' look in the log can bring the rest.
    state = await database_state(postgres.admin_url, postgres.name, tokens["user"]["id"])
    for device in (laptop, phone):
        await wait_seq(device, state.seq)
    writers = Writers()
    writers.socket(laptop, "laptop-after")
    writers.rest(second, tokens, "script-after")
    try:
        await writers.more(20)
    finally:
        await writers.stop()
    state = await database_state(postgres.admin_url, postgres.name, tokens["user"]["id"])
    assert state.log == list(range(1, state.seq + 1))
    for device in (laptop, phone):
        await wait_seq(device, state.seq)
        assert_device_matches(Replica().take(device), state)
        await device.close()


async def test_killed_process_loses_nothing_and_its_devices_drop_out(
    cluster_on: Callable[[str], Cluster], shared_redis: str, postgres: Postgres
) -> None:
    """SIGKILL on one process: its devices reconnect to the other with since and lose
    nothing; the dead devices leave the presence list within the presence ttl."""
    ttl = 3.0
    first, second = await cluster_on(shared_redis).start(2, "--presence-ttl", str(ttl))
    tokens = await register(first)
    token, user_id = tokens["access_token"], tokens["user"]["id"]
    laptop = await Device.connect(first, token, "laptop")
    phone = await Device.connect(second, token, "phone")
    tablet = await Device.connect(second, token, "tablet")
    everyone = {"laptop", "phone", "tablet"}
    await wait_until(saw_presence(laptop, everyone), 10, "every device on laptop's list")
    for n in range(4):
        await laptop.create(f"laptop-{n}")
        await phone.create(f"phone-{n}")
    await wait_seq(phone, 8)

    second.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    await second.wait_exit()
    await phone.wait_closed()
    await tablet.wait_closed()
    seen = len(laptop.frames)
    for n in range(2):  # written while the phone is away
        await laptop.create(f"laptop-meanwhile-{n}")
    phone_again = await Device.connect(first, token, "phone", since=last_seq(phone))
    for n in range(3):
        await phone_again.create(f"phone-again-{n}")
        await laptop.create(f"laptop-again-{n}")

    state = await database_state(postgres.admin_url, postgres.name, user_id)
    assert state.seq == 16 and state.log == list(range(1, 17))
    await wait_seq(laptop, 16)
    await wait_seq(phone_again, 16)
    assert_device_matches(Replica().take(laptop), state)
    assert_device_matches(Replica().take(phone).take(phone_again), state)

    def dropped() -> bool:
        return any(f["type"] == "presence" and {d["device"] for d in f["devices"]}
                   == {"laptop", "phone"} for f in laptop.frames[seen:])

    await wait_until(dropped, ttl + 6 - (time.monotonic() - killed_at), "tablet to drop out")
    assert time.monotonic() - killed_at < ttl + 6
    await phone_again.close()
    await laptop.close()

