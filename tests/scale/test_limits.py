"""Sign-in across hub processes on PostgreSQL and Redis: limits count the same attempts,
and a refresh retried on another process gets the same pair."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.client import PASSWORD, Device, register
from tests.scale.conftest import Cluster


async def test_login_and_guest_limits_hold_across_two_processes(
    cluster_on: Callable[[str], Cluster], shared_redis: str
) -> None:
    """Wrong passwords spread over two processes hit one limit, and so do guest accounts:
    two workers do not mean twice the guesses."""
    first, second = await cluster_on(shared_redis).start(
        2, "--login-max-failures", "3", "--login-user-max-failures", "0",
        "--guest-rate", "0.001", "--guest-burst", "2")
    await register(first, "kim")
    wrong = {"username": "kim", "password": "Wrong-password-9"}
    statuses = []
    for hub in (first, second, first, second, first):
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as http:
            statuses.append((await http.post("/api/auth/login", json=wrong)).status_code)
    assert statuses == [401, 401, 401, 429, 429]
    guests = []
    for hub in (first, second, first, second):
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as http:
            guests.append((await http.post("/api/auth/guest")).status_code)
    assert guests == [201, 201, 429, 429]


async def test_a_refresh_racing_on_two_processes_gets_one_pair(
    cluster_on: Callable[[str], Cluster], shared_redis: str
) -> None:
    """The same refresh token presented to two processes at once (two copies of a script):
    both answer 200 with the same new pair, which then works on either process."""
    first, second = await cluster_on(shared_redis).start(2)
    tokens = await register(first, "max")
    for _ in range(3):
        async with (httpx.AsyncClient(base_url=first.url, timeout=10) as one,
                    httpx.AsyncClient(base_url=second.url, timeout=10) as two):
            answers = await asyncio.gather(*(
                http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
                for http in (one, two)))
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            assert answers[0].json() == answers[1].json()
            tokens = answers[0].json()
            me = await two.get("/api/auth/me",
                               headers={"Authorization": f"Bearer {tokens['access_token']}"})
            assert me.status_code == 200


async def test_deleting_an_account_closes_its_sockets_on_every_process(
    cluster_on: Callable[[str], Cluster], shared_redis: str
) -> None:
    """An account deleted through one process has its sockets on both processes closed with
    4401, as logout of all sessions does."""
    first, second = await cluster_on(shared_redis).start(2)
    tokens = await register(first, "ray")
    devices = [await Device.connect(hub, tokens["access_token"], f"on-{hub.port}")
               for hub in (first, second)]
    async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
        deleted = await http.request(
            "DELETE", "/api/auth/me", json={"password": PASSWORD},
            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert deleted.status_code == 204
    for device in devices:
        assert (await device.wait_closed(10))[0] == 4401
        await device.close()
