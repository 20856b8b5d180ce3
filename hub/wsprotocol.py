"""uvicorn's Sans-I/O WebSocket protocol, lighter per idle socket.

tracemalloc of 2,000 idle sockets put about 5 KiB of each in uvicorn's protocol object
beyond its own state: an ``asyncio.Queue`` for the frames received (three deques and an
``Event`` with a fourth) and an ``Event`` for the transport's write flow control (a fifth),
each deque a block of about 760 bytes held for the socket's life; and the handshake's
request and response (their headers) kept after the handshake. Here the inbox is a list
that exists while messages wait, the write gate makes a future only when a send waits, and
the handshake is let go once the socket is accepted. Behaviour is uvicorn's.
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


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """``websockets-sansio`` with the inbox and write gate above, and the handshake's
    request and response dropped once the socket is accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Gate()  # type: ignore[assignment]
        self.writable.set()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The response is sent: nothing reads the handshake again.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
