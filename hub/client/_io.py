"""The two ways the client's requests and sockets travel: asyncio (httpx.AsyncClient,
websockets' asyncio client) and blocking (httpx.Client, websockets' sync client).

Both offer the same ``async`` methods, so the client's logic is written once, in
hub.client.aio. The blocking one never suspends: each method does its I/O and returns, which
is what lets hub.client.sync run that same logic to completion without an event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple, Protocol

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as sync_connect

from hub.client._calls import Call


class Answer(NamedTuple):
    """An HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class Socket(Protocol):
    """An open socket to the hub."""

    async def send(self, text: str) -> None:
        """Send one text frame."""

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the socket has closed."""

    def closed_with(self) -> tuple[int | None, str]:
        """The close code and reason (None: no close frame, the connection dropped)."""


class Carrier(Protocol):
    """Carries requests and opens sockets; raises httpx.TransportError when a request does
    not get through and OSError, InvalidHandshake or TimeoutError when a socket does not
    open."""

    async def request(self, call: Call, token: str) -> Answer:
        """Send one request and read its whole answer."""

    def connect(self, url: str) -> contextlib.AbstractAsyncContextManager[Socket]:
        """Open a socket to ``url``, closed when the context ends."""

    async def sleep(self, seconds: float) -> None:
        """Wait between attempts."""

    async def close(self) -> None:
        """Close the connection pool."""


def _request_args(call: Call, token: str) -> dict[str, Any]:
    return {"method": call.method, "url": call.path, "params": call.params,
            "content": call.content(), "headers": call.headers(token)}


class _Closing:
    """What both sockets share: how the close is read."""

    def __init__(self, ws: ClientConnection | SyncConnection) -> None:
        self._ws = ws

    def closed_with(self) -> tuple[int | None, str]:
        return self._ws.close_code, self._ws.close_reason or ""


class _AsyncSocket(_Closing):
    _ws: ClientConnection

    async def send(self, text: str) -> None:
        await self._ws.send(text)

    async def receive(self) -> str | bytes | None:
        try:
            return await self._ws.recv()
        except ConnectionClosed:
            return None


class AsyncCarrier:
    """asyncio I/O."""

    def __init__(self, url: str, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.timeout = timeout
        self._http = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)

    async def request(self, call: Call, token: str) -> Answer:
        answer = await self._http.request(**_request_args(call, token))
        return Answer(answer.status_code, answer.headers, answer.content)

    @contextlib.asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Socket]:
        async with async_connect(url, open_timeout=self.timeout, max_size=None) as ws:
            yield _AsyncSocket(ws)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def close(self) -> None:
        await self._http.aclose()


class _BlockingSocket(_Closing):
    _ws: SyncConnection

    async def send(self, text: str) -> None:
        self._ws.send(text)

    async def receive(self) -> str | bytes | None:
        try:
            return self._ws.recv()
        except ConnectionClosed:
            return None


class BlockingCarrier:
    """Blocking I/O behind ``async`` methods that never suspend."""

    def __init__(self, url: str, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.timeout = timeout
        self._http = httpx.Client(base_url=url, timeout=timeout, transport=transport)

    async def request(self, call: Call, token: str) -> Answer:
        answer = self._http.request(**_request_args(call, token))
        return Answer(answer.status_code, answer.headers, answer.content)

    @contextlib.asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Socket]:
        with sync_connect(url, open_timeout=self.timeout, max_size=None) as ws:
            yield _BlockingSocket(ws)

    async def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def close(self) -> None:
        self._http.close()
