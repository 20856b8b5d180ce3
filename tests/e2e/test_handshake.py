"""WebSocket handshakes over a real socket: good requests are upgraded and served (a hello
gets its welcome), bad ones get their HTTP status and the connection closed, none hangs;
subprotocols offered are ignored, deflate is negotiated only when it is on, a foreign
Origin gets 403."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import Callable

import pytest
from websockets.asyncio.client import connect

from tests.client import Device, register
from tests.servers import RunningHub

DEADLINE = 10.0  # only a hang reaches it
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _request(*extra: str, drop: tuple[str, ...] = (), method: str = "GET",
             path: str = "/ws") -> tuple[bytes, str]:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines = [line for line in lines if not line.startswith(drop)] + list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


async def _exchange(hub: RunningHub, request: bytes) -> tuple[bytes, bool]:
    """The response head (and what followed it) and whether the hub closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(DEADLINE):
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101 "):
                rest = await reader.read()
                return head + rest, True
        return head, False
    finally:
        writer.close()


def _status(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}


async def test_good_handshake_is_upgraded_and_served(hub: RunningHub) -> None:
    """The 101 carries the right accept key, uvicorn's server and date headers, no
    extension and no subprotocol; the socket then serves a hello."""
    tokens = await register(hub)
    request, key = _request("Sec-WebSocket-Protocol: chat, superchat",
                            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
    writer.write(request)
    async with asyncio.timeout(DEADLINE):
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    headers = _headers(head)
    expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    assert headers["sec-websocket-accept"] == expected
    assert headers["upgrade"] == "websocket" and headers["connection"] == "Upgrade"
    assert headers["server"] == "uvicorn" and "date" in headers
    assert "sec-websocket-extensions" not in headers and "sec-websocket-protocol" not in headers
    writer.close()
    device = await Device.connect(hub, str(tokens["access_token"]))
    assert [f["type"] for f in device.frames][0] == "welcome"
    await device.close()


@pytest.mark.parametrize(("extra", "drop", "method", "status"), [
    ((), ("Sec-WebSocket-Key",), "GET", 400),
    (("Sec-WebSocket-Key: c2hvcnQ=",), ("Sec-WebSocket-Key",), "GET", 400),
    (("Sec-WebSocket-Version: 8",), ("Sec-WebSocket-Version",), "GET", 400),
    ((), ("Sec-WebSocket-Version",), "GET", 400),
    ((), (), "POST", 405),
    (("Content-Length: 4",), (), "GET", 400),
    (("Transfer-Encoding: chunked",), (), "GET", 400),
    (("X-Long: " + "v" * 9000,), (), "GET", 431),
    (tuple(f"X-{n}: {n}" for n in range(130)), (), "GET", 431),
], ids=["no key", "short key", "version 8", "no version", "post",
        "a body", "chunked", "long header", "many headers"])
async def test_bad_handshakes_get_their_status(
        hub: RunningHub, extra: tuple[str, ...], drop: tuple[str, ...], method: str,
        status: int) -> None:
    """Each refused request gets its status and the connection is closed, promptly."""
    request, _ = _request(*extra, drop=drop, method=method)
    if "Content-Length: 4" in extra:
        request += b"body"
    head, closed = await _exchange(hub, request)
    assert _status(head) == status, head
    assert closed
    if status == 405:
        assert _headers(head.split(b"\r\n\r\n")[0] + b"\r\n")["allow"] == "GET"


async def test_foreign_origin_gets_403_and_own_origin_passes(
        hub_factory: Callable[..., RunningHub]) -> None:
    """The origin check still answers at the handshake."""
    hub = hub_factory(allowed_origins="https://app.example")
    head, closed = await _exchange(hub, _request("Origin: https://evil.example")[0])
    assert _status(head) == 403 and closed
    head, _ = await _exchange(hub, _request("Origin: https://app.example")[0])
    assert _status(head) == 101


async def test_deflate_is_negotiated_when_on(hub_factory: Callable[..., RunningHub]) -> None:
    """With TODOHUB_WS_DEFLATE on, an offer is accepted and compressed frames flow."""
    hub = hub_factory(ws_deflate=True)
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
    head, _ = await _exchange(hub, _request(offer)[0])
    assert _headers(head)["sec-websocket-extensions"].startswith("permessage-deflate")
    tokens = await register(hub)
    async with connect(hub.ws_url, compression="deflate") as ws:
        assert ws.protocol.extensions
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": tokens["access_token"],
                                  "device": "d", "since": None}))
        async with asyncio.timeout(DEADLINE):
            assert json.loads(await ws.recv())["type"] == "welcome"
