"""The repository's nginx.conf, on the real nginx, in front of two hub processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.client import Device, register
from tests.conftest import skip_or_fail
from tests.deploy.nginx import find_nginx, render_nginx_conf, run_nginx
from tests.scale.cluster import (
    REPO_ROOT,
    Address,
    Replica,
    assert_device_matches,
    database_state,
    wait_seq,
)
from tests.scale.conftest import Cluster, Postgres
from tests.services import free_port, wait_until


async def sockets_of(hub: Address) -> int:
    """How many sockets a hub process holds (its /health says)."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=5) as http:
        return int((await http.get("/health")).json()["sockets"])


async def test_nginx_keeps_devices_on_two_processes_in_sync(
    cluster_on: Callable[[str], Cluster], shared_redis: str, postgres: Postgres, tmp_path: Path
) -> None:
    """Two devices connect through nginx, which spreads them over both processes (least_conn);
    what either one writes reaches the other, and both end with the database's state."""
    if find_nginx() is None:
        skip_or_fail("nginx is not installed (/usr/sbin/nginx missing; apt-get install nginx)")
    first, second = await cluster_on(shared_redis).start(2)
    front = Address(free_port())
    conf = render_nginx_conf([f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"],
                             front.port, str(REPO_ROOT / "static"), str(tmp_path / "nginx"))
    with run_nginx(conf, str(tmp_path / "nginx")):
        tokens = await register(front)
        one = await Device.connect(front, tokens["access_token"], "one")
        two = await Device.connect(front, tokens["access_token"], "two")
        await wait_until(lambda: _both_hold_one(first, second), 10, "one socket per process")
        for n in range(3):
            await asyncio.gather(one.create(f"one-{n}"), two.create(f"two-{n}"))
        state = await database_state(postgres.admin_url, postgres.name, tokens["user"]["id"])
        assert state.seq == 6
        for device in (one, two):
            await wait_seq(device, 6)
            assert_device_matches(Replica().take(device), state)
            await device.close()


async def _both_hold_one(first: Address, second: Address) -> bool:
    return (await sockets_of(first), await sockets_of(second)) == (1, 1)


async def test_a_client_cannot_choose_its_address_through_nginx(
    cluster_on: Callable[[str], Cluster], shared_redis: str, tmp_path: Path
) -> None:
    """nginx replaces the client's X-Forwarded-For with the address it saw, so a new value per
    request does not buy new login guesses (the hubs trust nginx's address only)."""
    if find_nginx() is None:
        skip_or_fail("nginx is not installed (/usr/sbin/nginx missing; apt-get install nginx)")
    first, second = await cluster_on(shared_redis).start(
        2, "--login-max-failures", "3", "--login-user-max-failures", "0")
    front = Address(free_port())
    conf = render_nginx_conf([f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"],
                             front.port, str(REPO_ROOT / "static"), str(tmp_path / "nginx"))
    with run_nginx(conf, str(tmp_path / "nginx")):
        await register(front, "lee")
        statuses = []
        async with httpx.AsyncClient(base_url=front.url, timeout=10) as http:
            for n in range(6):
                answer = await http.post(
                    "/api/auth/login", json={"username": "lee", "password": "Wrong-password-9"},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"})
                statuses.append(answer.status_code)
        assert statuses == [401, 401, 401, 429, 429, 429]
