"""A lean WebSocket client for load generation, on a bare asyncio Protocol.

No task, queue or future per message: frames are handled inside ``data_received`` with the
time the bytes arrived, and a send is a synchronous write to the transport. This keeps the
load generator's own CPU per frame low, and its receive timestamps honest, so that the
numbers describe the hub.

A socket without compression speaks the little of RFC 6455 a benchmark needs with a codec of
its own (``_Plain``): the same upgrade request for every socket (one key per process, so the
accept to expect is computed once), the response judged by its status and that accept, and
frames read and written directly. On this machine websockets' client protocol cost the
generator about 0.3 ms per connection (request and key made, response parsed header by
header), as much as the hub's whole hello, and the two share two cores. A socket with
``deflate`` keeps websockets' Sans-I/O client, which negotiates and inflates.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import struct
import time
from collections.abc import Callable
from typing import Protocol, cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

# (text of one frame, perf_counter_ns when its bytes arrived)
OnText = Callable[[str, int], None]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_KEY = base64.b64encode(os.urandom(16))
_ACCEPT = base64.b64encode(hashlib.sha1(_KEY + _GUID).digest()).lower()


class _Codec(Protocol):
    """What a socket needs of its WebSocket protocol."""

    failure: Exception | None  # why the handshake failed, once it has

    @property
    def state(self) -> State: ...
    @property
    def close_code(self) -> int | None: ...

    def start(self) -> None: ...
    def receive(self, data: bytes, on_text: OnText, now: int) -> bool: ...
    def send_text(self, data: bytes) -> None: ...
    def send_close(self, code: int) -> None: ...
    def receive_eof(self) -> None: ...
    def output(self) -> list[bytes]: ...


class _Plain:
    """RFC 6455 without extensions, for a client: masked frames out, unmasked frames in."""

    def __init__(self, host: str, path: str) -> None:
        self.state = State.CONNECTING
        self.close_code: int | None = None
        self.failure: Exception | None = None
        self._request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: ").encode() + _KEY + (
                         b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._out: list[bytes] = []

    def start(self) -> None:
        self._out.append(self._request)

    def output(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = random.getrandbits(32).to_bytes(4, "big")
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0xFE, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, size)
        self._out.append(head + mask + apply_mask(payload, mask))

    def send_text(self, data: bytes) -> None:
        self._frame(0x1, data)

    def send_close(self, code: int) -> None:
        if self.state is State.OPEN:
            self.state = State.CLOSING
            self._frame(0x8, struct.pack("!H", code))

    def receive_eof(self) -> None:
        self.state = State.CLOSED

    def _fail(self, why: str) -> bool:
        self.failure = ConnectionError(why)
        self.state = State.CLOSED
        return True

    def receive(self, data: bytes, on_text: OnText, now: int) -> bool:
        """Take bytes from the hub; True once the handshake has ended (either way)."""
        buffer = self._buffer + data if self._buffer else data
        ended = False
        if self.state is State.CONNECTING:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buffer
                return False
            head = buffer[:end].lower()
            if not head.startswith(b"http/1.1 101"):
                status = head.partition(b"\r\n")[0].decode("latin-1")
                return self._fail(f"handshake refused: {status}")
            if _ACCEPT not in head:
                return self._fail("handshake answered with a wrong accept key")
            self.state, ended = State.OPEN, True
            buffer = buffer[end + 4:]
        at, size = 0, len(buffer)
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if second & 0x80:
                return self._fail("the hub masked a frame")
            length, start = second & 0x7F, at + 2
            if length == 126:
                if size - start < 2:
                    break
                length, start = int.from_bytes(buffer[start:start + 2], "big"), start + 2
            elif length == 127:
                if size - start < 8:
                    break
                length, start = int.from_bytes(buffer[start:start + 8], "big"), start + 8
            if size - start < length:
                break
            payload, at = buffer[start:start + length], start + length
            opcode = first & 0x0F
            if opcode in (0x0, 0x1):
                if not first & 0x80:
                    self._fragments.append(payload)
                    continue
                if self._fragments:
                    self._fragments.append(payload)
                    payload = b"".join(self._fragments)
                    self._fragments.clear()
                on_text(payload.decode(), now)
            elif opcode == 0x8:
                self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
                if self.state is State.OPEN:
                    self._frame(0x8, payload[:2])
                self.state = State.CLOSING
            elif opcode == 0x9:
                self._frame(0xA, payload)
        self._buffer = buffer[at:] if at < size else b""
        return ended


class _Websockets:
    """websockets' Sans-I/O client (with permessage-deflate), behind the same face."""

    def __init__(self, url: str) -> None:
        self._ws = ClientProtocol(parse_uri(url), extensions=[ClientPerMessageDeflateFactory()],
                                  max_size=None)
        self.failure: Exception | None = None
        self._fragments: list[bytes] = []

    @property
    def state(self) -> State:
        return self._ws.state

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    def start(self) -> None:
        self._ws.send_request(self._ws.connect())

    def output(self) -> list[bytes]:
        return self._ws.data_to_send()

    def send_text(self, data: bytes) -> None:
        self._ws.send_text(data)

    def send_close(self, code: int) -> None:
        if self._ws.state is State.OPEN:
            self._ws.send_close(code)

    def receive_eof(self) -> None:
        self._ws.receive_eof()

    def receive(self, data: bytes, on_text: OnText, now: int) -> bool:
        ws = self._ws
        ws.receive_data(data)
        ended = False
        for event in ws.events_received():
            if isinstance(event, Response):
                self.failure, ended = ws.handshake_exc, True
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
                on_text(payload.decode(), now)
        return ended


class BenchSocket(asyncio.Protocol):
    """One client WebSocket."""

    def __init__(self, url: str, on_text: OnText, deflate: bool = False) -> None:
        if deflate:
            self._ws: _Codec = _Websockets(url)
        else:
            uri = parse_uri(url)
            self._ws = _Plain(f"{uri.host}:{uri.port}", uri.resource_name)
        self._on_text = on_text
        self._transport: asyncio.Transport | None = None
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
        async with asyncio.timeout(timeout):
            _, sock = await loop.create_connection(lambda: cls(url, on_text, deflate), host,
                                                   port, local_addr=local_addr)
            try:
                await sock.opened
            except BaseException:
                sock.abort()
                raise
        return sock

    # asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._ws.start()
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        ws = self._ws
        if ws.receive(data, self._on_text, now) and not self.opened.done():
            if ws.failure is not None:
                self.opened.set_exception(ws.failure)
            else:
                self.opened.set_result(None)
        self._flush()
        if ws.state is State.CLOSED and ws.failure is not None and self._transport is not None:
            self._transport.close()

    def eof_received(self) -> bool | None:
        # The hub closed the TCP connection; the transport closes our side too.
        self._ws.receive_eof()
        self._ws.output()
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

    def start_close(self, code: int = 1000) -> None:
        """Send a close frame (when open); the hub answers and ends the connection."""
        self._ws.send_close(code)
        self._flush()

    def _flush(self) -> None:
        transport = self._transport
        output = self._ws.output()
        if transport is None:
            return
        for data in output:
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()

    async def close(self, timeout: float = 5.0) -> None:
        """Close the WebSocket (1000) and wait for the TCP connection to end."""
        if self._transport is None:
            return
        self.start_close(1000)
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
            sock.start_close(1000)
    pending = [s.closed for s in sockets if not s.closed.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    for sock in sockets:
        sock.abort()
