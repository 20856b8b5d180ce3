"""The socket session: hello rules, close codes, token expiry and renewal, presence, limits."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State
from websockets.uri import parse_uri

from tests.client import Device, bearer, register
from tests.servers import RunningHub


async def _closed_with(hub: RunningHub, first: str | None, **options: object) -> int | None:
    device = await Device.connect(hub, None, hello=False, **options)  # type: ignore[arg-type]
    if first is not None:
        await device.send(first)
    code, _ = await device.wait_closed()
    await device.close()
    return code


async def test_hello_rules_and_their_close_codes(hub: RunningHub) -> None:
    """Not a hello: 4400; another protocol: 4409; bad token: 4401."""
    tokens = await register(hub)
    assert await _closed_with(hub, '{"type": "ping"}') == 4400
    assert await _closed_with(hub, "not json") == 4400
    assert await _closed_with(hub, _hello("x", device="")) == 4400
    assert await _closed_with(
        hub, _hello(tokens["access_token"], protocol=2)
    ) == 4409
    assert await _closed_with(
        hub, '{"type":"hello","protocol":1,"token":"garbage","device":"d"}'
    ) == 4401


async def test_no_hello_in_time_closes_4408(hub_factory: object) -> None:
    """A socket that says nothing is closed with 4408 after the hello timeout."""
    hub = hub_factory(hello_timeout=0.5)  # type: ignore[operator]
    assert await _closed_with(hub, None) == 4408


def _hello(token: str, protocol: int = 1, device: str = "d") -> str:
    return json.dumps({"type": "hello", "protocol": protocol, "token": token, "device": device})


async def test_forged_tokens_are_refused(hub: RunningHub) -> None:
    """alg none, a wrong key, a wrong token type and a revoked session all get 4401 / 401."""
    tokens = await register(hub)
    real = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = [
        jwt.encode(real, None, algorithm="none"),  # type: ignore[arg-type]
        jwt.encode(real, "not-the-secret-of-this-hub-at-all-000", algorithm="HS256"),
        jwt.encode({**real, "typ": "refresh"}, _secret(hub), algorithm="HS256"),
        jwt.encode({**real, "exp": int(time.time()) - 5}, _secret(hub), algorithm="HS256"),
    ]
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for token in forged:
            assert await _closed_with(hub, _hello(token)) == 4401
            response = await http.get("/api/auth/me",
                                      headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
        good = jwt.encode(real, _secret(hub), algorithm="HS256")
        assert (await http.get("/api/auth/me", headers={"Authorization": f"Bearer {good}"})
                ).status_code == 200
        await http.post("/api/auth/logout", headers=bearer(tokens))
        assert (await http.get("/api/auth/me", headers=bearer(tokens))).status_code == 401
    assert await _closed_with(hub, _hello(tokens["access_token"])) == 4401


def _secret(hub: RunningHub) -> str:
    from auth.keys import load_secret

    return load_secret(hub.settings.secret, hub.settings.data_dir)


async def test_expired_token_warns_then_closes_4401(hub_factory: object) -> None:
    """The hub sends token_expiring before expiry and closes with 4401 at expiry."""
    hub = hub_factory(access_ttl=3, token_warning=2)  # type: ignore[operator]
    tokens = await register(hub)
    device = await Device.connect(hub, tokens["access_token"])
    welcome = device.frames[0]
    warning = await device.wait_for("token_expiring")
    assert warning["expires_at"] == welcome["expires_at"]
    code, _ = await device.wait_closed()
    assert code == 4401
    assert time.time() >= welcome["expires_at"] - 0.5
    await device.close()


async def test_auth_frame_renews_the_token(hub_factory: object) -> None:
    """A fresh token sent with auth keeps the socket open past the first token's expiry."""
    hub = hub_factory(access_ttl=3, token_warning=2)  # type: ignore[operator]
    tokens = await register(hub)
    other = await register(hub)
    device = await Device.connect(hub, tokens["access_token"])
    await device.wait_for("token_expiring")
    await device.send({"type": "auth", "token": other["access_token"]})
    refused = await device.wait_for("error")
    assert refused["code"] == "unauthorized"
    await device.send({"type": "auth", "token": "nonsense"})
    assert (await device.wait_for("error"))["code"] == "unauthorized"
    async with httpx.AsyncClient(base_url=hub.url) as http:
        fresh = (await http.post("/api/auth/refresh",
                                 json={"refresh_token": tokens["refresh_token"]})).json()
    await device.send({"type": "auth", "token": fresh["access_token"]})
    ok = await device.wait_for("auth_ok")
    assert ok["expires_at"] > device.frames[0]["expires_at"]
    await asyncio.sleep(max(0.0, device.frames[0]["expires_at"] - time.time() + 0.5))
    assert (await device.create("still alive"))["type"] == "ack"
    await device.close()


async def test_logout_all_closes_every_socket_4401(hub: RunningHub) -> None:
    """Logging out of every session closes all of the user's sockets with 4401 at once."""
    tokens = await register(hub)
    a = await Device.connect(hub, tokens["access_token"], "a")
    b = await Device.connect(hub, tokens["access_token"], "b")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.post("/api/auth/logout?all=true", headers=bearer(tokens))
        assert response.status_code == 204
    assert (await a.wait_closed(5))[0] == 4401
    assert (await b.wait_closed(5))[0] == 4401
    await a.close()
    await b.close()


async def test_presence_lists_devices_as_they_come_and_go(hub: RunningHub) -> None:
    """Every device gets a presence frame when a device of its user connects or leaves."""
    tokens = await register(hub)
    laptop = await Device.connect(hub, tokens["access_token"], "laptop",
                                  user_agent_header="laptop-agent")
    first = await laptop.wait_for("presence")
    assert [d["device"] for d in first["devices"]] == ["laptop"]
    assert first["devices"][0]["agent"] == "laptop-agent"
    phone = await Device.connect(hub, tokens["access_token"], "phone")
    both = await laptop.wait_for("presence")
    assert [d["device"] for d in both["devices"]] == ["laptop", "phone"]
    assert [d["device"] for d in (await phone.wait_for("presence"))["devices"]] == [
        "laptop", "phone"]
    await phone.close()
    left = await laptop.wait_for("presence")
    assert [d["device"] for d in left["devices"]] == ["laptop"]
    await laptop.close()


async def test_foreign_origin_is_refused_with_403(hub_factory: object) -> None:
    """A handshake from another site's Origin gets HTTP 403; configured and own origins pass."""
    hub = hub_factory(allowed_origins="https://app.example")  # type: ignore[operator]
    with pytest.raises(InvalidStatus) as refused:
        async with connect(hub.ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    for origin in ("https://app.example", hub.url):
        async with connect(hub.ws_url, origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send('{"type":"ping"}')


async def test_too_large_frame_closes_1009(hub_factory: object) -> None:
    """A frame above the size limit closes the socket with 1009."""
    hub = hub_factory(max_frame=1024)  # type: ignore[operator]
    tokens = await register(hub)
    device = await Device.connect(hub, tokens["access_token"])
    await device.send({"type": "create", "id": "big", "todo": {"title": "x" * 2000}})
    code, _ = await device.wait_closed()
    assert code == 1009
    await device.close()


async def test_rate_limit_answers_then_closes_4429(hub_factory: object) -> None:
    """Commands past the bucket get rate_limited errors; too many in a row close with 4429."""
    hub = hub_factory(command_rate=1, command_burst=2,  # type: ignore[operator]
                      rate_limit_strikes=20)
    tokens = await register(hub)
    device = await Device.connect(hub, tokens["access_token"])
    for i in range(40):
        try:
            await device.send({"type": "ping", "id": f"p{i}"})
        except ConnectionClosed:
            break
    limited = await device.wait_for("error")
    assert limited["code"] == "rate_limited"
    code, _ = await device.wait_closed()
    assert code == 4429
    await device.close()


async def test_slow_device_is_closed_1013_and_resumes_without_loss(
    hub_factory: object,
) -> None:
    """A device that stops reading overflows its queue and is closed with 1013; its room goes
    on, and it resumes with since and loses nothing."""
    hub = hub_factory(send_queue=150, command_rate=0, max_frame=1 << 20)  # type: ignore[operator]
    tokens = await register(hub)
    writer = await Device.connect(hub, tokens["access_token"], "writer")
    slow = _silent_device(hub, tokens["access_token"], "slow")
    synced = 0  # the slow device joined before any change
    big = "d" * 4000
    ops = [{"type": "create", "todo": {"title": f"t{i}", "description": big}} for i in range(100)]
    for _ in range(40):
        ack = await writer.command({"type": "batch", "ops": ops})
        assert ack["type"] == "ack"
        if await _overflowed(hub):
            break
    assert await _overflowed(hub), "the slow device was never closed"
    total = ack["seqs"][-1]
    resumed = await Device.connect(hub, tokens["access_token"], "slow", since=synced)
    assert [c["seq"] for c in resumed.changes()] == list(range(synced + 1, total + 1))
    await writer.close()
    await resumed.close()
    slow.close()


async def _overflowed(hub: RunningHub) -> bool:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("todohub_send_queue_overflows_total"):
            return float(line.split()[-1]) >= 1
    return False


def _silent_device(hub: RunningHub, token: str, device: str) -> socket.socket:
    """A device that says hello and then never reads, on a tiny receive buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", hub.port))
    protocol = ClientProtocol(parse_uri(hub.ws_url))
    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    while protocol.handshake_exc is None and protocol.state is not State.OPEN:
        protocol.receive_data(sock.recv(4096))
    hello = {"type": "hello", "protocol": 1, "token": token, "device": device, "since": None}
    protocol.send_text(json.dumps(hello).encode())
    sock.sendall(b"".join(protocol.data_to_send()))
    return sock


async def test_compression_is_off_unless_configured(hub_factory: object) -> None:
    """permessage-deflate is declined by default (it costs memory per socket) and accepted
    when TODOHUB_WS_DEFLATE is set."""
    plain = hub_factory()  # type: ignore[operator]
    async with connect(plain.ws_url) as ws:
        assert ws.protocol.extensions == []
    deflating = hub_factory(ws_deflate=True)  # type: ignore[operator]
    async with connect(deflating.ws_url) as ws:
        assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
