"""A lean WebSocket client for load generation: websockets' Sans-I/O protocol on a bare
asyncio Protocol.

No task, queue or future per message: frames are handled inside ``data_received`` with the
time the bytes arrived, and a send is a synchronous write to the transport. This keeps the
load generator's own CPU per frame low, and its receive timestamps honest, so that the
numbers describe the hub.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

# (text of one frame, perf_counter_ns when its bytes arrived)
OnText = Callable[[str, int], None]


class BenchSocket(asyncio.Protocol):
    """One client WebSocket."""

    def __init__(self, url: str, on_text: OnText, deflate: bool = False) -> None:
        extensions = [ClientPerMessageDeflateFactory()] if deflate else None
        self._ws = ClientProtocol(parse_uri(url), extensions=extensions, max_size=None)
        self._on_text = on_text
        self._transport: asyncio.Transport | None = None
        self._fragments: list[bytes] = []
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    @classmethod
    async def connect(
        cls, url: str, on_text: OnText, host: str, port: int,
        local_addr: tuple[str, int] | None = None, deflate: bool = False,
        timeout: float = 30.0,
    ) -> BenchSocket:
        """Open the TCP connection and finish the WebSocket handshake."""
        loop = asyncio.get_running_loop()
        _, sock = await asyncio.wait_for(
            loop.create_connection(lambda: cls(url, on_text, deflate), host, port,
                                   local_addr=local_addr),
            timeout,
        )
        try:
            await asyncio.wait_for(asyncio.shield(sock.opened), timeout)
        except BaseException:
            sock.abort()
            raise
        return sock

    # asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._ws.send_request(self._ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        ws = self._ws
        ws.receive_data(data)
        for event in ws.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    if ws.handshake_exc is not None:
                        self.opened.set_exception(ws.handshake_exc)
                    else:
                        self.opened.set_result(None)
                continue
            if not isinstance(event, Frame):
                continue
            if event.opcode is Opcode.TEXT or event.opcode is Opcode.CONT:
                if not event.fin:
                    self._fragments.append(bytes(event.data))
                    continue
                if self._fragments:
                    self._fragments.append(bytes(event.data))
                    payload = b"".join(self._fragments)
                    self._fragments.clear()
                else:
                    payload = bytes(event.data)
                self._on_text(payload.decode(), now)
        self._flush()

    def eof_received(self) -> bool | None:
        # The hub closed the TCP connection; the transport closes our side too.
        self._ws.receive_eof()
        self._ws.data_to_send()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost during handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    # Use -----------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether the WebSocket is open."""
        return self._ws.state is State.OPEN and self._transport is not None

    @property
    def close_code(self) -> int | None:
        """The close code the hub sent, once closed."""
        return self._ws.close_code

    def send(self, text: str) -> None:
        """Queue a text frame (never waits; the transport buffers)."""
        if self._ws.state is not State.OPEN:
            raise ConnectionError("the socket is not open")
        self._ws.send_text(text.encode())
        self._flush()

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            self._ws.data_to_send()
            return
        for data in self._ws.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()

    async def close(self, timeout: float = 5.0) -> None:
        """Close the WebSocket (1000) and wait for the TCP connection to end."""
        if self._transport is None:
            return
        if self._ws.state is State.OPEN:
            self._ws.send_close(1000)
            self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        if self._transport is not None:
            self._transport.abort()
            self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)


async def close_all(sockets: list[BenchSocket], timeout: float = 10.0) -> None:
    """Close many sockets at once; whatever is still open after ``timeout`` is dropped."""
    for sock in sockets:
        if sock.open:
            sock._ws.send_close(1000)
            sock._flush()
    pending = [s.closed for s in sockets if not s.closed.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    for sock in sockets:
        sock.abort()
