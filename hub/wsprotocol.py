"""uvicorn's Sans-I/O WebSocket protocol, lighter per idle socket.

tracemalloc of 2,000 idle sockets put about 5 KiB of each in uvicorn's protocol object
beyond its own state: an ``asyncio.Queue`` for the frames received (three deques and an
``Event`` with a fourth) and an ``Event`` for the transport's write flow control (a fifth),
each deque a block of about 760 bytes held for the socket's life; and the handshake's
request and response (their headers) kept after the handshake. Here the inbox is a list
that exists while messages wait, the write gate makes a future only when a send waits, and
the handshake is let go once the socket is accepted.

And every frame was its own ``write`` system call: a hello's welcome, changes and synced
are sent in one turn of the event loop, one after another. The transport here gathers what
one turn writes and writes it at the end of the turn (in order, everything through the same
buffer: frames, pings, pongs and the close), so a catch-up is one system call. Behaviour is
otherwise uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


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


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """``websockets-sansio`` with the inbox, write gate and gathered writes above, and the
    handshake's request and response dropped once the socket is accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Gate()  # type: ignore[assignment]
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_Gathered(transport, self.loop))  # type: ignore[arg-type]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The response is sent: nothing reads the handshake again.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
