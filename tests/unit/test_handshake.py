"""The handshake taken over from uvicorn's HTTP protocol (hub.wsprotocol.take_over) answers
every upgrade request byte for byte as uvicorn's own path does (the request written out
again and parsed by websockets), gives the application the same scope and messages, and
leaves websockets' frame parser where its own parse would: good requests, refused ones,
requests websockets' parser would not take, subprotocols, extra headers, deflate on and off.

Also the pin: uvicorn's internals that hub.wsprotocol relies on are still there."""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import re
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from bench.handshake import Transport
from hub.config import Settings
from hub.serving import uvicorn_options
from hub.wsprotocol import LeanWebSocketProtocol, plain_request

KEY = base64.b64encode(b"0123456789abcdef")
_DATE = re.compile(rb"(?im)^Date: [^\r\n]*")


class _Original(LeanWebSocketProtocol):
    """The same protocol, upgraded the way uvicorn does it (the request parsed again)."""

    take_over = None  # type: ignore[assignment]


def _app(seen: list[Any]) -> Any:
    """Records the scope and every message; answers as the path asks."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 426, "headers": []})
                await send({"type": "http.response.body", "body": b"upgrade"})
            return
        seen.append({k: v for k, v in scope.items() if k != "state"})
        seen.append(await receive())
        path = scope["path"]
        if path == "/refuse":
            await send({"type": "websocket.close", "code": 1008})
            return
        if path == "/http":
            await send({"type": "websocket.http.response.start", "status": 418,
                        "headers": [(b"x-tea", b"pot")]})
            await send({"type": "websocket.http.response.body", "body": b"no"})
            return
        if path == "/crash":
            raise RuntimeError("boom")
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if path == "/sub":
            accept["subprotocol"] = "chat"
        if path == "/headers":
            accept["headers"] = [(b"x-extra", b"1")]
        await send(accept)
        if path == "/twice":
            with pytest.raises(RuntimeError):
                await send(accept)
        message = await receive()
        seen.append(message)
        if message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": "echo " + message["text"]})
            seen.append(await receive())

    return app


async def _run(ws: type[LeanWebSocketProtocol], request: bytes, deflate: bool,
               frames: list[bytes], log_level: str = "critical",
               ) -> tuple[list[bytes], bool, list[Any]]:
    seen: list[Any] = []
    settings = Settings(data_dir="/nonexistent", ws_deflate=deflate)
    options = {**uvicorn_options(settings), "ws": ws, "log_level": log_level, "log_config": None}
    config = uvicorn.Config(_app(seen), lifespan="off", **options)
    config.load()
    state = ServerState()
    state.default_headers = [(b"Server", b"uvicorn"), (b"date", b"Wed, 02 Dec 2026 04:00:00 GMT")]
    loop = asyncio.get_running_loop()
    transport = Transport()
    http = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=state, app_state={}, _loop=loop)
    transport.protocol = http
    http.connection_made(transport)
    http.data_received(request)
    for chunk in [*frames, None]:
        for _ in range(10):
            await asyncio.sleep(0)
        if chunk is not None and not transport.closing:
            transport.protocol.data_received(chunk)
    if not transport.closing:
        transport.protocol.connection_lost(None)
    while state.tasks:
        await asyncio.sleep(0)
    # websockets dates the answers it makes itself: two runs may fall in different seconds.
    written = [_DATE.sub(b"Date: -", chunk) for chunk in transport.written]
    return written, transport.closing, seen


def _request(path: str = "/ws", *extra: str, drop: str = "", method: str = "GET",
             version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: hub.example:8000", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY.decode()}",
             "Sec-WebSocket-Version: 13", *extra]
    lines = [line for line in lines if not drop or not line.startswith(drop)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _text(text: str) -> bytes:
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=True, extensions=[])


CLOSE = Frame(Opcode.CLOSE, b"\x03\xe8bye").serialize(mask=True, extensions=[])
DEFLATE = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
REQUESTS = {
    "plain": _request(),
    "query and escapes": _request("/ws%20x?token=a%20b&x=1"),
    "deflate offered": _request("/ws", DEFLATE),
    "subprotocols": _request("/sub", "Sec-WebSocket-Protocol: chat, superchat",
                             "Sec-WebSocket-Protocol: x"),
    "accept with headers": _request("/headers"),
    "origin refused": _request("/refuse", "Origin: https://evil.example"),
    "http response": _request("/http"),
    "application fails": _request("/crash"),
    "accepted twice": _request("/twice"),
    "connection list": _request("/ws", drop="Connection").replace(
        b"\r\n\r\n", b"\r\nConnection: keep-alive, Upgrade\r\n\r\n"),
    "upgrade in capitals": _request("/ws", drop="Upgrade").replace(
        b"\r\n\r\n", b"\r\nUpgrade: WebSocket\r\n\r\n"),
    "no key": _request(drop="Sec-WebSocket-Key"),
    "bad key": _request("/ws", "Sec-WebSocket-Key: bm90IGJhc2U2NA==", drop="Sec-WebSocket-Key"),
    "two keys": _request("/ws", f"Sec-WebSocket-Key: {KEY.decode()}"),
    "no version": _request(drop="Sec-WebSocket-Version"),
    "version 8": _request("/ws", "Sec-WebSocket-Version: 8", drop="Sec-WebSocket-Version"),
    "two upgrades": _request("/ws", drop="Upgrade").replace(
        b"\r\n\r\n", b"\r\nUpgrade: websocket, h2c\r\n\r\n"),
    "post": _request(method="POST"),
    "http/1.0": _request(version="1.0"),
    "empty body": _request("/ws", "Content-Length: 0"),
    "a body": _request("/ws", "Content-Length: 5") + b"hello",
    "chunked": _request("/ws", "Transfer-Encoding: chunked") + b"0\r\n\r\n",
    "obs-text value": _request("/ws", "X-Name: caf\xe9"),
    "tab in value": _request("/ws", "X-Name: a\tb"),
    "long value": _request("/ws", "X-Long: " + "v" * 9000),
    "many headers": _request("/ws", *(f"X-{n}: {n}" for n in range(130))),
    "bad extension": _request("/ws", "Sec-WebSocket-Extensions: permessage-deflate; x=\"",),
}


@pytest.mark.parametrize("deflate", [False, True], ids=["deflate off", "deflate on"])
@pytest.mark.parametrize("name", list(REQUESTS))
async def test_take_over_answers_as_uvicorn_does(name: str, deflate: bool) -> None:
    """Same bytes written, same close, same scope and messages to the application; a text
    frame after the handshake is read and echoed, then the close handshake done."""
    frames = [_text("hello"), CLOSE]
    original = await _run(_Original, REQUESTS[name], deflate, frames)
    taken = await _run(LeanWebSocketProtocol, REQUESTS[name], deflate, frames)
    assert taken == original
    if name == "plain":
        written, _, seen = taken
        assert written[0].startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert seen[1] == {"type": "websocket.connect"}
        assert seen[2] == {"type": "websocket.receive", "text": "hello"}


def test_plain_request_matches_websockets_parser() -> None:
    """plain_request makes the Request websockets' parser makes of the same bytes, or
    declines; it declines what the parser refuses."""
    from websockets.http11 import Request
    from websockets.streams import StreamReader

    def parsed(method: str, url: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
        reader = StreamReader()
        reader.feed_data(b"".join([method.encode(), b" ", url, b" HTTP/1.1\r\n",
                                   *(n + b": " + v + b"\r\n" for n, v in headers), b"\r\n"]))
        parser = Request.parse(reader.read_line)
        try:
            next(parser)
        except StopIteration as done:
            return done.value
        except Exception:  # noqa: BLE001 (refused)
            return None
        raise AssertionError("the parser wanted more")

    cases: list[tuple[bytes, list[tuple[bytes, bytes]]]] = [
        (b"/ws", [(b"host", b"x"), (b"upgrade", b"websocket")]),
        (b"/ws?q=1", [(b"x", b"a\tb"), (b"y", b"caf\xe9"), (b"z", b"")]),
        (b"/w\xe9", [(b"host", b"x")]),
        (b"/ws", [(b"bad name", b"x")]),
        (b"/ws", [(b"x", b"a\x01b")]),
        (b"/ws", [(b"x", b" padded ")]),
        (b"/ws", [(b"content-length", b"0"), (b"content-length", b"0")]),
        (b"/ws", [(b"content-length", b"3")]),
        (b"/ws", [(b"transfer-encoding", b"chunked")]),
        (b"/ws", [(b"x", b"v" * 8200)]),
        (b"/" + b"p" * 8200, []),
        (b"/ws", [(b"x%d" % n, b"1") for n in range(128)]),
        (b"/ws", [(b"x%d" % n, b"1") for n in range(129)]),
    ]
    for url, headers in cases:
        mine, theirs = plain_request("GET", url, headers), parsed("GET", url, headers)
        if mine is not None:
            assert (mine.path, mine.method, mine.protocol, list(mine.headers.raw_items())) == (
                theirs.path, theirs.method, theirs.protocol, list(theirs.headers.raw_items()))
        elif theirs is not None:
            # Declined though the parser takes it: only when values are not as it keeps them.
            assert any(v != v.strip(b" \t") for _, v in headers), url


def test_uvicorn_internals_relied_on_are_there() -> None:
    """hub.wsprotocol reads and sets these; a uvicorn that renamed them fails here."""
    upgrade = inspect.getsource(HttpToolsProtocol.handle_websocket_upgrade)
    for name in ("self.connections.discard(self)", 'self.scope["method"]', "self.url",
                 "self.ws_protocol_class(", "protocol.connection_made(self.transport)",
                 "protocol.data_received(", "self.transport.set_protocol(protocol)"):
        assert name in upgrade, name
    connect = inspect.getsource(WebSocketsSansIOProtocol.handle_connect)
    for name in ("self.conn.accept(event)", "self.handshake_initiated = True", "self.scope",
                 '"subprotocols"', '"websocket.http.response"', "self.run_asgi()",
                 "self.on_task_complete", "self.tasks.add(task)"):
        assert name in connect, name
    send = inspect.getsource(WebSocketsSansIOProtocol.send)
    for name in ('del self.response.headers["Date"]', "self.default_headers",
                 "self.conn.send_response(self.response)", "self.start_keepalive()",
                 "self.handshake_complete = True", "self.initial_response is None"):
        assert name in send, name
    made = inspect.getsource(WebSocketsSansIOProtocol.connection_made)
    for name in ("self.connections.add(self)", "self.server = get_local_addr(transport)",
                 "self.client = get_remote_addr(transport)", '"wss" if is_ssl(transport)'):
        assert name in made, name


async def test_take_over_logs_as_uvicorn_does(caplog: pytest.LogCaptureFixture) -> None:
    """At level INFO, the same lines: the accepted socket and websockets' connection open."""
    lines = []
    logger = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not reach the root
    logger.addHandler(caplog.handler)
    try:
        for ws in (_Original, LeanWebSocketProtocol):
            caplog.clear()
            await _run(ws, REQUESTS["query and escapes"], False, [CLOSE], "info")
            lines.append([(r.levelname, r.getMessage()) for r in caplog.records
                          if r.name == "uvicorn.error"])
    finally:
        logger.removeHandler(caplog.handler)
    assert lines[0] == lines[1]
    assert any("[accepted]" in text for _, text in lines[1]), lines[1]
