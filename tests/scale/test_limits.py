"""Sign-in limits held in Redis: several hub processes count the same attempts."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.client import register
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
