"""Personal access tokens on several hub processes (PostgreSQL + Redis)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.client import TIMEOUT, Device, bearer, register
from tests.scale.conftest import Cluster
from tests.scripts.helpers import make_token, pat


async def test_revoking_a_token_on_one_process_closes_its_socket_on_another(
    cluster_on: Callable[[str], Cluster], shared_redis: str
) -> None:
    """DELETE on process two: process one refuses the token over REST at once and closes
    the socket opened with it with 4401; the user's password session socket stays."""
    first, second = await cluster_on(shared_redis).start(2)
    login = await register(first)
    made = await make_token(second, login, scope="read")
    script = await Device.connect(first, made["token"], "script")
    browser = await Device.connect(first, login["access_token"], "browser")
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        gone = await http.delete(f"{second.url}/api/tokens/{made['id']}", headers=bearer(login))
        assert gone.status_code == 204
        refused = await http.get(f"{first.url}/api/todos", headers=pat(made["token"]))
        assert refused.status_code == 401
    assert (await script.wait_closed())[0] == 4401
    assert (await browser.create("still open"))["type"] == "ack"
    await browser.close()


async def test_a_session_logged_out_on_one_process_is_refused_at_hello_on_another(
    cluster_on: Callable[[str], Cluster], shared_redis: str
) -> None:
    """Logout on process two: a hello with that session's token on process one, sent among
    hellos of live sessions that are read together, is closed with 4401 before any frame;
    the live ones are synced."""
    first, second = await cluster_on(shared_redis).start(2)
    gone = await register(first)
    live = [await register(second) for _ in range(3)]
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        out = await http.post(f"{second.url}/api/auth/logout",
                              json={"refresh_token": gone["refresh_token"]})
        assert out.status_code == 204
    devices = [await Device.connect(first, None, hello=False) for _ in range(4)]
    tokens = [gone["access_token"], *(login["access_token"] for login in live)]
    for device, token in zip(devices, tokens, strict=True):
        await device.send({"type": "hello", "protocol": 1, "token": token, "device": "d",
                           "since": None})
    refused, *synced = devices
    assert (await refused.wait_closed())[0] == 4401
    assert refused.frames == []
    for device in synced:
        await device.wait_for("synced")
        await device.close()
