"""uvicorn's HTTP protocol with deadlines for slow clients and a cap on the request head.

uvicorn has a keep-alive timeout for idle connections between requests, but none for a
client that connects and then sends its request line and headers a byte at a time (or never):
such connections stay open for ever and, a few hundred at once, hold the server's file
descriptors. This protocol closes a connection whose head is not complete within
``header_timeout`` seconds of the connection (or of the request's first byte), answers 431 to a
head larger than ``max_header_bytes``, and closes one whose body is not complete within
``body_timeout`` seconds after its head. A WebSocket upgrade ends the deadlines (the socket's
own pings and hello timeout take over). Zero turns a deadline off.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with header and body deadlines and a request-head size limit."""

    def __init__(self, *args: Any, header_timeout: float = 10.0, body_timeout: float = 30.0,
                 max_header_bytes: int = 32768, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._max_header_bytes = max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_bytes = 0

    def _arm(self, seconds: float, in_head: bool) -> None:
        self._disarm()
        self._in_head = in_head
        if seconds > 0:
            self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        if self._in_head:
            self._reply_and_close(b"408 Request Timeout", b"request head not received in time")
        else:
            self.transport.close()

    def _reply_and_close(self, status: bytes, text: bytes) -> None:
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(text)).encode() + b"\r\nconnection: close\r\n\r\n"
            + text)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._arm(self._header_timeout, in_head=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (self._in_head and self._head_bytes > self._max_header_bytes
                and not self.transport.is_closing()):
            self._disarm()
            self._reply_and_close(b"431 Request Header Fields Too Large",
                                  b"request head too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:
            # The next request on a kept-alive connection: its head has the same deadline.
            self._head_bytes = 0
            self._arm(self._header_timeout, in_head=True)

    def on_headers_complete(self) -> None:
        upgrade = bool(self.parser.should_upgrade() and self._should_upgrade())
        super().on_headers_complete()
        if upgrade:
            self._disarm()
            self._in_head = False
        else:
            self._arm(self._body_timeout, in_head=False)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._in_head = False

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self._in_head = False
        # hub.wsprotocol takes the parsed request over rather than having it parsed again.
        take_over = getattr(self.ws_protocol_class, "take_over", None)
        if take_over is not None:
            take_over(self)
        else:
            super().handle_websocket_upgrade()
