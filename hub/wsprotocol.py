"""uvicorn's Sans-I/O WebSocket protocol, lighter per idle socket.

tracemalloc of 2,000 idle sockets put about 5 KiB of each in uvicorn's protocol object
beyond its own state: an ``asyncio.Queue`` for the frames received (three deques and an
``Event`` with a fourth) and an ``Event`` for the transport's write flow control (a fifth),
each deque a block of about 760 bytes held for the socket's life; and the handshake's
request and response (their headers) kept after the handshake. Here the inbox is a list
that exists while messages wait, the write gate makes a future only when a send waits, and
the handshake is let go once the socket is accepted.

And a text message went through starlette, uvicorn's send, websockets' send_text, its Frame
and its serialize, about 12 us: on an open socket without extensions the frame (a server's,
unmasked, final) is made here (``text_frame``) and written, as websockets would write it.

And every frame was its own ``write`` system call: a hello's welcome, changes and synced
are sent in one turn of the event loop, one after another. The transport here gathers what
one turn writes and writes it at the end of the turn (in order, everything through the same
buffer: frames, pings, pongs and the close), so a catch-up is one system call.

And the handshake was parsed twice: uvicorn's HTTP protocol parses the request (httptools),
then writes it out again as bytes for websockets' parser, which parses it again, and the
scope's headers are encoded back from websockets' text; websockets' accept dates its
response, which uvicorn then deletes to put its own date in. ``take_over`` hands the parsed
request over as websockets' ``Request`` (what its parser would make of those bytes, or the
bytes themselves when it would not make one), websockets judges and negotiates it as before
(``ServerProtocol.process_request``; its ``accept`` answers a refused one), and the 101 is
written once, as uvicorn would have written it. Behaviour is otherwise uvicorn's;
tests/unit/test_handshake.py holds both to uvicorn's own path.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any
from urllib.parse import unquote

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import ClientDisconnected, get_client_addr, get_path_with_query_string
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.http11 import (
    MAX_LINE_LENGTH,
    MAX_NUM_HEADERS,
    Request,
    _token_re,
    _value_re,
)
from websockets.protocol import OPEN, Protocol


def text_frame(payload: bytes) -> bytes:
    """A server's final, unmasked text frame carrying ``payload``, with no extension."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 0x10000:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class _Inbox:
    """What ``asyncio.Queue`` does for uvicorn's receive, for its one reader (the ASGI
    application's ``receive``): no storage while empty, one future while it waits."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = []
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        # The item stays queued until taken, so a reader cancelled after the wake-up loses
        # nothing.
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0


class _Gate:
    """What ``asyncio.Event`` does for uvicorn's write flow control, with no deque."""

    __slots__ = ("_open", "_waiters")

    def __init__(self) -> None:
        self._open = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> bool:
        if self._open:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class _Gathered:
    """A transport whose writes of one loop turn go out together at the end of the turn;
    everything else is the transport's own."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = []
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def plain_request(method: str, url: bytes, headers: list[tuple[bytes, bytes]]) -> Request | None:
    """The ``Request`` websockets' parser makes of an upgrade request as uvicorn hands it
    over (``method url HTTP/1.1`` and the parsed headers, as bytes again); None when the
    parser would refuse those bytes or the headers are not as it would leave them, so that
    the bytes go to the parser and it answers."""
    # uvicorn writes every request line as HTTP/1.1, whatever the request said.
    if len(headers) > MAX_NUM_HEADERS or len(method) + len(url) + 12 > MAX_LINE_LENGTH:
        return None
    try:
        path = url.decode("ascii")
    except UnicodeDecodeError:
        return None
    fields = Headers()
    for name, value in headers:
        if (len(name) + len(value) + 4 > MAX_LINE_LENGTH or not _token_re.fullmatch(name)
                or not _value_re.fullmatch(value) or value != value.strip(b" \t")):
            return None
        fields.set_insecure(name.decode("ascii"), value.decode("iso-8859-1"))
    # The parser refuses a body: it raises on these, and then nothing answers.
    if "Transfer-Encoding" in fields or not set(fields.get_all("Content-Length")) <= {"0"}:
        return None
    return Request(path, fields, method)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """``websockets-sansio`` with the inbox, write gate and gathered writes above, the
    handshake taken over from uvicorn's HTTP protocol already parsed, and the handshake's
    request and response dropped once the socket is accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Gate()  # type: ignore[assignment]
        self.writable.set()
        # process_request's Sec-WebSocket-Accept, -Extensions and -Protocol, until the 101.
        self.handshake: tuple[str, str | None, str | None] | None = None

    @classmethod
    def take_over(cls, http: HttpToolsProtocol) -> None:
        """Serve the WebSocket upgrade request ``http`` has parsed, on its connection (what
        ``HttpToolsProtocol.handle_websocket_upgrade`` does, without the second parse)."""
        request = plain_request(http.scope["method"], http.url, http.headers)
        if request is None:
            HttpToolsProtocol.handle_websocket_upgrade(http)
            return
        if http.logger.level <= TRACE_LOG_LEVEL:
            prefix = "{}:{} - ".format(*http.client) if http.client else ""
            http.logger.log(TRACE_LOG_LEVEL, "%sUpgrading to WebSocket", prefix)
        http.connections.discard(http)
        protocol = cls(config=http.config, server_state=http.server_state,
                       app_state=http.app_state, _loop=http.loop)
        protocol._adopt(http.transport, http.server, http.client, http.scheme == "https")
        protocol._connect(request, http.url, http.headers)
        http.transport.set_protocol(protocol)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_Gathered(transport, self.loop))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        conn = self.conn
        if not self.handshake_initiated and conn.handshake_exc is not None:
            # websockets' parser refused the request (too long a line, too many headers, a
            # body): uvicorn writes nothing and leaves the connection open, so the client
            # would wait for ever. Send the parser's answer, or a 400, and close.
            output = b"".join(conn.data_to_send())
            if not output:
                cause = conn.handshake_exc.__cause__ or conn.handshake_exc
                output = conn.reject(400, f"Failed to open a WebSocket connection: "
                                          f"{cause}.\n").serialize()
            self.handshake_initiated = self.handshake_complete = self.close_sent = True
            self.transport.write(output)
            self.transport.close()

    def _adopt(self, transport: asyncio.Transport, server: tuple[str, int | None] | None,
               client: tuple[str, int] | None, tls: bool) -> None:
        # connection_made, with the addresses the HTTP protocol already asked the socket for.
        self.connections.add(self)
        self.transport = _Gathered(transport, self.loop)  # type: ignore[assignment]
        self.server, self.client, self.scheme = server, client, "wss" if tls else "ws"
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "{}:{} - ".format(*self.client) if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection made", prefix)

    def _connect(self, request: Request, url: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        # handle_connect, for a request that did not go through websockets' parser: the
        # parser is put where it stands once it has read a request (at the first frame).
        conn = self.conn
        conn.parser = Protocol.parse(conn)
        next(conn.parser)
        try:
            self.handshake = conn.process_request(request)
        except Exception:
            # Refused: websockets' accept judges it again and makes the answer.
            self.handle_connect(request)
            return
        conn.accept_called = True
        self.request = request
        self.handshake_initiated = True
        raw_path, _, query_string = url.partition(b"?")
        subprotocols: list[str] = []
        for name, value in headers:
            if name == b"sec-websocket-protocol":
                subprotocols.extend(token.strip() for token in value.decode("latin-1").split(","))
        root = self.root_path
        # The scope's headers are the HTTP protocol's list: lower-case names, the values
        # as received (plain_request made sure they are what websockets would have kept).
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root,
            "path": root + unquote(raw_path.decode("ascii")),
            "raw_path": root.encode("ascii") + raw_path,
            "query_string": query_string,
            "headers": headers,
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self.queue.put_nowait({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.on_task_complete)
        self.tasks.add(task)

    def _response(self, handshake: tuple[str, str | None, str | None]) -> bytes:
        # The 101 uvicorn's send writes for an accept without headers or subprotocol:
        # websockets' accept's headers without its date, then uvicorn's default headers.
        accept_header, extensions_header, protocol_header = handshake
        lines = ["HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: ", accept_header, "\r\n"]
        if extensions_header is not None:
            lines += ["Sec-WebSocket-Extensions: ", extensions_header, "\r\n"]
        if protocol_header is not None:
            lines += ["Sec-WebSocket-Protocol: ", protocol_header, "\r\n"]
        for name, value in self.default_headers:
            lines += [name.decode("latin-1").lower(), ": ", value.decode("latin-1"), "\r\n"]
        lines.append("\r\n")
        return "".join(lines).encode()

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.send":
            text = message.get("text")
            if text is not None and message.get("bytes") is None:
                # uvicorn's send of a text message, with the frame made here when websockets
                # would only serialize it (see the module's docstring).
                await self.writable.wait()
                if self.disconnected:
                    raise ClientDisconnected()
                conn = self.conn
                if (self.handshake_complete and not self.close_sent
                        and self.initial_response is None and conn.state is OPEN
                        and not conn.extensions and not conn.writes
                        and not conn.expect_continuation_frame and not conn.debug):
                    self.transport.write(text_frame(text.encode()))
                    return
        handshake = self.handshake
        if handshake is not None and message["type"] == "websocket.accept":
            self.handshake = None
            if message.get("headers") or message.get("subprotocol"):
                # uvicorn adds and checks those headers on websockets' own response.
                self.response = self.conn.accept(self.request)
            else:
                await self._accept(handshake, message)
                return
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The response is sent: nothing reads the handshake again.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]

    async def _accept(self, handshake: tuple[str, str | None, str | None],
                      message: Any) -> None:
        # uvicorn's send of websocket.accept, with the response written here.
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if self.handshake_complete or self.initial_response is not None:
            await super().send(message)  # uvicorn's answer to an accept out of turn
            return
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info('%s - "WebSocket %s" [accepted]', get_client_addr(self.scope),
                             get_path_with_query_string(self.scope))
        self.request = None  # type: ignore[assignment]
        if not self.transport.is_closing():
            self.handshake_complete = True
            conn = self.conn
            # What send_response does for a 101 (the response itself written here).
            conn.state = OPEN
            conn.logger.info("connection open")
            self.transport.write(self._response(handshake))
            self.start_keepalive()
